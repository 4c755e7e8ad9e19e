//! `hashlock generate --universal` and `audit --universal` on small trees served from
//! 127.0.0.1: markers written before the hashes, markers merged over several paths, forks into
//! one line per version (on markers, and on requires-python alone), irreconcilable forks, and pip
//! on two Pythons as the judge.
//! The pip tests skip where an interpreter is missing, unless HASHLOCK_REQUIRE_PIP=1 and none
//! at all is found.

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use support::{Entry, IndexServer, LockFile, Registry, Release, hashlock, without_pip_settings};

/// `hashlock generate --universal --python-version PYTHON --index-url URL --no-cache ARGS...`.
fn universal(index_url: &str, python: &str, args: &[&str]) -> assert_cmd::Command {
    let mut command = hashlock();
    command.args(["generate", "--universal", "--python-version", python, "--index-url", index_url, "--no-cache"]);
    command.args(args);
    command
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs a universal generate that must succeed; the file as text and parsed.
fn generate_universal(index_url: &str, python: &str, args: &[&str]) -> (String, LockFile) {
    let output = universal(index_url, python, args).assert().success().get_output().stdout.clone();
    let written = text(&output);
    let lock = LockFile::parse(&written);
    (written, lock)
}

/// The lines of one package (name, hashes, `# via`) for each of its versions.
fn entries<'a>(lock: &'a LockFile, name: &str) -> Vec<&'a Entry> {
    lock.entries.iter().filter(|e| e.name == name).collect()
}

/// Every entry carries the sha256 of every file of its version, once.
fn assert_every_file_hashed(lock: &LockFile, registry: &Registry) {
    for entry in &lock.entries {
        let published = registry.sha256s(&entry.name, &entry.version);
        assert!(!published.is_empty(), "{}=={} has no files on the index", entry.name, entry.version);
        assert_eq!(entry.sha256s(), published, "sha256 of every file of {}=={}", entry.name, entry.version);
        assert_eq!(entry.hashes.len(), published.len(), "{}: duplicate or non-sha256 hashes", entry.name);
    }
}

/// Each of `lines` is a whole line of `written`.
fn assert_lines(written: &str, lines: &[&str]) {
    let found: Vec<&str> = written.lines().collect();
    for line in lines {
        assert!(found.contains(line), "no line {line:?} in:\n{written}");
    }
}

/// Case 1: a Windows-only and a Python-3.13-only dependency; winhelper also has a Windows wheel.
fn platform_and_python_tree() -> Registry {
    Registry::new().with([
        Release::new("app", "1.0")
            .requires(&["winhelper; platform_system=='Windows'", "newlib; python_version>='3.13'"]),
        Release::new("winhelper", "1.0").wheels(&["py3-none-any", "cp311-cp311-win_amd64"]),
        Release::new("newlib", "1.0").with_sdist(),
    ])
}

#[test]
fn markers_go_before_the_hashes_and_every_file_is_hashed() {
    let registry = platform_and_python_tree();
    let server = IndexServer::start(registry.clone());
    let (written, lock) = generate_universal(&server.index_url(), "3.11", &["app"]);
    assert_lines(
        &written,
        &[
            "app==1.0 \\",
            "newlib==1.0 ; python_full_version >= '3.13' \\",
            "winhelper==1.0 ; sys_platform == 'win32' \\",
        ],
    );
    lock.assert_pins_and_hashes(&registry, &["app==1.0", "newlib==1.0", "winhelper==1.0"]);
    assert_eq!(lock.entry("app").marker, None, "{written}");
    assert_eq!(lock.entry("winhelper").hashes.len(), 2);
    assert_eq!(lock.entry("newlib").hashes.len(), 2, "the wheel and the sdist");
}

/// The `or`-separated parts of a marker, for comparisons that do not depend on their order.
fn disjuncts(marker: &str) -> BTreeSet<String> {
    marker.split(" or ").map(|part| part.trim().to_string()).collect()
}

#[test]
fn a_dependency_reached_on_two_paths_gets_the_simplified_disjunction() {
    let registry = Registry::new().with([
        // shared: win32 directly, darwin through mac; win32 again (narrower) through narrow.
        Release::new("app", "1.0").requires(&[
            "shared; sys_platform == 'win32'",
            "mac; sys_platform == 'darwin'",
            "narrow; sys_platform == 'win32'",
        ]),
        Release::new("mac", "1.0").requires(&["shared"]),
        Release::new("narrow", "1.0").requires(&["shared; python_version >= '3.12'", "only-narrow"]),
        Release::new("only-narrow", "1.0").requires(&["deep; python_version >= '3.12'"]),
        Release::new("deep", "1.0"),
        Release::new("shared", "1.0"),
    ]);
    let server = IndexServer::start(registry.clone());
    let (written, lock) = generate_universal(&server.index_url(), "3.11", &["app"]);
    lock.assert_pins_and_hashes(
        &registry,
        &["app==1.0", "deep==1.0", "mac==1.0", "narrow==1.0", "only-narrow==1.0", "shared==1.0"],
    );
    let shared = lock.entry("shared").marker.as_deref().unwrap_or_else(|| panic!("shared has no marker:\n{written}"));
    assert_eq!(
        disjuncts(shared),
        BTreeSet::from(["sys_platform == 'darwin'".to_string(), "sys_platform == 'win32'".to_string()]),
        "win32 or (win32 and >= 3.12) is win32:\n{written}"
    );
    assert_eq!(lock.entry("only-narrow").marker.as_deref(), Some("sys_platform == 'win32'"), "{written}");
    let deep = lock.entry("deep").marker.as_deref().unwrap_or_else(|| panic!("deep has no marker:\n{written}"));
    assert!(
        deep.contains("sys_platform == 'win32'")
            && deep.contains("python_full_version >= '3.12'")
            && !deep.contains(" or "),
        "markers along a path are conjoined: {deep}\n{written}"
    );
}

/// Case 3: `b` forks on the Python version; b 1.0 and 2.0 both exist.
fn fork_tree(second: &str) -> Registry {
    Registry::new().with([
        Release::new("app", "1.0").requires(&["b<2; python_version<'3.10'", second]),
        Release::new("b", "1.0"),
        Release::new("b", "2.0"),
    ])
}

const FORK: &str = "b>=2; python_version>='3.10'";

#[test]
fn a_fork_gets_one_line_per_version_under_disjoint_markers() {
    let registry = fork_tree(FORK);
    let server = IndexServer::start(registry.clone());
    let (written, lock) = generate_universal(&server.index_url(), "3.8", &["app"]);
    let b: Vec<(&str, Option<&str>)> =
        entries(&lock, "b").iter().map(|e| (e.version.as_str(), e.marker.as_deref())).collect();
    assert_eq!(
        BTreeSet::from_iter(b),
        BTreeSet::from([("1.0", Some("python_full_version < '3.10'")), ("2.0", Some("python_full_version >= '3.10'"))]),
        "{written}"
    );
    assert_eq!(lock.entries.len(), 3, "{written}");
    assert_eq!(lock.entry("app").marker, None);
    assert_every_file_hashed(&lock, &registry);
}

/// Case 4: no marker anywhere, but b 2.0 (which brings newdep) needs Python 3.10: the fork
/// comes from requires-python alone.
fn requires_python_tree() -> Registry {
    Registry::new().with([
        Release::new("app", "1.0").requires(&["b"]),
        Release::new("b", "1.0").requires_python(">=3.8"),
        Release::new("b", "2.0").requires_python(">=3.10").requires(&["newdep"]),
        Release::new("newdep", "1.0"),
    ])
}

#[test]
fn a_newer_version_for_newer_pythons_gets_its_own_line() {
    let registry = requires_python_tree();
    let server = IndexServer::start(registry.clone());
    let (written, lock) = generate_universal(&server.index_url(), "3.8", &["app"]);
    assert_lines(
        &written,
        &[
            "app==1.0 \\",
            "b==1.0 ; python_full_version < '3.10' \\",
            "b==2.0 ; python_full_version >= '3.10' \\",
            "newdep==1.0 ; python_full_version >= '3.10' \\",
        ],
    );
    assert_eq!(lock.entries.len(), 4, "{written}");
    assert_every_file_hashed(&lock, &registry);
    let (_, from_310) = generate_universal(&server.index_url(), "3.10", &["app"]);
    from_310.assert_pins_and_hashes(&registry, &["app==1.0", "b==2.0", "newdep==1.0"]);
}

#[test]
fn an_irreconcilable_fork_fails_in_one_line_and_leaves_the_output_alone() {
    let server = IndexServer::start(fork_tree("b>=2"));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("requirements.txt");
    let before = b"# an earlier lock\nb==2.0 \\\n    --hash=sha256:00\n";
    std::fs::write(&out, before).unwrap();
    let assert = universal(&server.index_url(), "3.8", &["app", "-o"]).arg(&out).assert().code(2);
    let stderr = text(&assert.get_output().stderr);
    assert_eq!(std::fs::read(&out).unwrap(), before, "the existing file is untouched");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let first = stderr.lines().next().unwrap_or_default();
    assert!(first.contains("python_full_version < '3.10'"), "names the environments: {stderr}");
    assert!(first.split(|c: char| !c.is_ascii_alphanumeric()).any(|word| word == "b"), "names b: {stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "errors are one line on stderr:\n{stderr}");
}

/// The file without the lines of `name` (its requirement, hashes and `# via` comments).
fn without_package(written: &str, name: &str) -> String {
    let mut out = String::new();
    let mut skipping = false;
    for line in written.lines() {
        if !line.starts_with(' ') && !line.is_empty() {
            skipping = line.starts_with(&format!("{name}=="));
        }
        if !skipping {
            out.push_str(line);
            out.push('\n');
        }
    }
    assert_ne!(out, written, "{name} was not in the file");
    out
}

#[test]
fn audit_universal_names_the_environments_a_dependency_is_missing_in() {
    let registry = platform_and_python_tree();
    let server = IndexServer::start(registry);
    let (written, _) = generate_universal(&server.index_url(), "3.11", &["app"]);
    let dir = tempfile::tempdir().unwrap();
    let audit = |contents: &str| {
        let path = dir.path().join("requirements.txt");
        std::fs::write(&path, contents).unwrap();
        let mut command = hashlock();
        command.args(["audit", "--universal", "--python-version", "3.11", "--index-url", &server.index_url()]);
        command.arg("--no-cache").arg(&path);
        command.output().expect("run hashlock")
    };

    let intact = audit(&written);
    assert_eq!(intact.status.code(), Some(0), "{}\n{}", text(&intact.stdout), text(&intact.stderr));

    let broken = audit(&without_package(&written, "winhelper"));
    let report = text(&broken.stdout);
    assert_eq!(broken.status.code(), Some(1), "{report}\n{}", text(&broken.stderr));
    let missing: Vec<&str> = report.lines().filter(|l| l.contains("[missing-dependency]")).collect();
    assert_eq!(missing.len(), 1, "only winhelper is missing:\n{report}");
    assert!(missing[0].contains("winhelper") && missing[0].contains("sys_platform == 'win32'"), "{report}");
}

#[test]
fn universal_with_a_platform_is_a_usage_error() {
    let server = IndexServer::start(platform_and_python_tree());
    let assert = universal(&server.index_url(), "3.11", &["app", "--python-platform", "linux"]).assert().code(2);
    let stderr = text(&assert.get_output().stderr);
    assert!(stderr.contains("--universal") && stderr.contains("--python-platform"), "{stderr}");
    assert!(assert.get_output().stdout.is_empty());
    assert!(server.log().is_empty(), "a usage error made requests: {:#?}", server.log());
}

// --- pip as the judge ---------------------------------------------------------------------------

/// An interpreter of `X.Y`: `pythonX.Y` on PATH, then `$PYENV_ROOT/versions/X.Y*/bin/python`,
/// then `~/.pyenv/versions/X.Y*/bin/python`; the first that runs and reports that version.
fn find_python(version: &str) -> Option<PathBuf> {
    let on_path: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).map(|dir| dir.join(format!("python{version}"))).collect())
        .unwrap_or_default();
    let roots = [
        std::env::var_os("PYENV_ROOT").map(PathBuf::from),
        std::env::var_os("HOME").map(|h| Path::new(&h).join(".pyenv")),
    ];
    let mut pyenv: Vec<PathBuf> = roots
        .into_iter()
        .flatten()
        .filter_map(|root| std::fs::read_dir(root.join("versions")).ok())
        .flatten()
        .filter_map(Result::ok)
        .filter(|dir| {
            dir.file_name()
                .to_string_lossy()
                .strip_prefix(version)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
        })
        .map(|dir| dir.path().join("bin/python"))
        .collect();
    pyenv.sort();
    on_path.into_iter().chain(pyenv).filter(|p| p.is_file()).find(|python| {
        let reported = without_pip_settings(
            Command::new(python).args(["-c", "import sys; print('%d.%d' % sys.version_info[:2])"]),
        )
        .output();
        reported.is_ok_and(|out| out.status.success() && text(&out.stdout).trim() == version)
    })
}

/// The interpreters of `versions` that exist; the missing ones are printed as skipped. With
/// HASHLOCK_REQUIRE_PIP=1, finding none at all fails.
fn pythons(versions: &[&'static str]) -> Vec<(&'static str, PathBuf)> {
    let found: Vec<(&str, PathBuf)> = versions.iter().filter_map(|v| find_python(v).map(|p| (*v, p))).collect();
    for version in versions.iter().filter(|v| !found.iter().any(|(f, _)| f == *v)) {
        eprintln!("skipping Python {version}: no python{version} on PATH or under the pyenv versions");
    }
    assert!(
        !found.is_empty() || std::env::var("HASHLOCK_REQUIRE_PIP").as_deref() != Ok("1"),
        "HASHLOCK_REQUIRE_PIP=1 but none of Python {versions:?} was found"
    );
    found
}

/// A fresh virtualenv made by one interpreter.
struct Venv {
    _dir: tempfile::TempDir,
    bin: PathBuf,
}

impl Venv {
    fn create(python: &Path) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("venv");
        let made =
            without_pip_settings(Command::new(python).args(["-m", "venv"]).arg(&path)).output().expect("run venv");
        assert!(made.status.success(), "{} -m venv: {}", python.display(), text(&made.stderr));
        Self { bin: path.join("bin"), _dir: dir }
    }

    fn install(&self, index_url: &str, requirements: &Path) {
        let mut pip = Command::new(self.bin.join("python"));
        pip.args(["-m", "pip", "install", "--require-hashes", "--no-cache-dir", "--disable-pip-version-check"])
            .args(["--no-input", "--index-url", index_url, "-r"])
            .arg(requirements);
        let out = without_pip_settings(&mut pip).output().expect("run pip");
        assert!(out.status.success(), "pip install failed:\n{}\n{}", text(&out.stdout), text(&out.stderr));
    }

    /// `{name: version}` of the given modules that import, as `name=version` lines.
    fn versions(&self, modules: &[&str]) -> BTreeSet<String> {
        let code = format!(
            "import importlib\nfor m in {modules:?}:\n    try:\n        print(m + '=' + importlib.import_module(m).__version__)\n    except ImportError:\n        pass\n"
        );
        let out = without_pip_settings(Command::new(self.bin.join("python")).args(["-c", &code]))
            .output()
            .expect("run python");
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout).lines().map(str::to_string).collect()
    }
}

/// Generates a universal file for `python` (lowest) and installs it with each interpreter;
/// returns what each one can import of `modules`.
fn install_everywhere(
    registry: Registry,
    lowest: &str,
    versions: &[&'static str],
    modules: &[&str],
) -> Vec<(&'static str, BTreeSet<String>)> {
    let found = pythons(versions);
    if found.is_empty() {
        return Vec::new();
    }
    let server = IndexServer::start(registry);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("requirements.txt");
    universal(&server.index_url(), lowest, &["app", "-o"]).arg(&out).assert().success();
    LockFile::read(&out);
    std::thread::scope(|scope| {
        let handles: Vec<_> = found
            .iter()
            .map(|(version, python)| {
                let (server, out) = (&server, &out);
                scope.spawn(move || {
                    let venv = Venv::create(python);
                    venv.install(&server.index_url(), out);
                    (*version, venv.versions(modules))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("install thread")).collect()
    })
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn pip_installs_the_python_specific_dependency_only_where_its_marker_holds() {
    let modules = ["app", "newlib", "winhelper"];
    for (version, installed) in install_everywhere(platform_and_python_tree(), "3.11", &["3.11", "3.13"], &modules) {
        let want = if version == "3.13" { set(&["app=1.0", "newlib=1.0"]) } else { set(&["app=1.0"]) };
        assert_eq!(installed, want, "Python {version} on Linux");
    }
}

#[test]
fn pip_installs_each_python_its_own_side_of_a_fork() {
    for (version, installed) in install_everywhere(fork_tree(FORK), "3.8", &["3.9", "3.12"], &["app", "b"]) {
        let b = if version == "3.9" { "b=1.0" } else { "b=2.0" };
        assert_eq!(installed, set(&["app=1.0", b]), "Python {version}");
    }
}

#[test]
fn pip_installs_each_python_the_newest_version_it_supports() {
    let modules = ["app", "b", "newdep"];
    for (version, installed) in install_everywhere(requires_python_tree(), "3.8", &["3.9", "3.12"], &modules) {
        let want = if version == "3.9" { set(&["app=1.0", "b=1.0"]) } else { set(&["app=1.0", "b=2.0", "newdep=1.0"]) };
        assert_eq!(installed, want, "Python {version}");
    }
}
