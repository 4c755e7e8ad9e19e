//! `hashlock verify [LOCK] --installed VENV` on virtualenvs pip really installed from the
//! loopback index: a clean one passes (its wheel's wrong RECORD line, the shebangs pip
//! rewrites and the scripts it generates included); each tampering is caught and named with
//! its exit code; a second run downloads nothing.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::build::{WheelSpec, backend_sdist, backend_wheel, wheel};
use support::pip::Venv;
use support::{File, IndexServer, Ran, Registry, generate_for, hashlock};

/// `demo` has a console script, a `.data/scripts` file with `#!python`, a `.pth` of its own
/// and a RECORD line with a wrong digest; it needs `helper`. `stray` is on the index and in no
/// lock; `tinybackend` builds local sdists.
fn registry(python: &str) -> Registry {
    let files = [
        ("demo/__init__.py", "def main():\n    print('demo')\n"),
        ("demo/extra.py", "VALUE = 1\n"),
        ("demo_paths.pth", "# demo's own path file\n"),
        ("demo-1.0.data/scripts/demo-tool", "#!python\nimport demo\ndemo.main()\n"),
        ("demo-1.0.dist-info/entry_points.txt", "[console_scripts]\ndemo = demo:main\n"),
    ];
    let demo = WheelSpec {
        name: "demo",
        version: "1.0",
        tags: "py3-none-any",
        requires_dist: &["helper", "native"],
        files: &files,
        wrong_record: Some("demo/extra.py"),
        ..WheelSpec::default()
    };
    let mut registry = Registry::new();
    registry.add("demo", File::built(demo.build(), "1.0"));
    registry.add("helper", File::built(wheel("helper", "1.0", "py3-none-any", &[], None, &[]), "1.0"));
    registry.add("stray", File::built(wheel("stray", "1.0", "py3-none-any", &[], None, &[]), "1.0"));
    registry.add("tinybackend", File::built(backend_wheel(), "1.0"));
    // One wheel per Python, with different bytes: the WHEEL tags decide which is the truth.
    for cp in native_tags(python) {
        let module = format!("BUILT_FOR = {cp:?}\n");
        let spec = WheelSpec {
            name: "native",
            version: "1.0",
            tags: &format!("{cp}-{cp}-manylinux_2_17_x86_64"),
            files: &[("native/__init__.py", &module)],
            ..WheelSpec::default()
        };
        registry.add("native", File::built(spec.build(), "1.0"));
    }
    registry
}

/// `cp311` for `3.11`, and the next minor's tag (a wheel this Python cannot install).
fn native_tags(python: &str) -> [String; 2] {
    let minor: u32 = python.split('.').nth(1).and_then(|m| m.parse().ok()).expect("X.Y");
    [format!("cp3{minor}"), format!("cp3{}", minor + 1)]
}

/// `X.Y` of an interpreter, when it runs.
fn version_of(python: &str) -> Option<String> {
    let out = Command::new(python).args(["-c", "import sys; print('%d.%d' % sys.version_info[:2])"]).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// A virtualenv with `demo` installed by `pip install --require-hashes -r` from hashlock's lock.
struct Installed {
    server: IndexServer,
    dir: tempfile::TempDir,
    venv: Venv,
    python: String,
}

impl Installed {
    fn new() -> Option<Self> {
        Self::with("python3", Venv::create)
    }

    /// `venv`: makes a virtualenv of `interpreter`.
    fn with(interpreter: &str, venv: impl FnOnce() -> Option<Venv>) -> Option<Self> {
        if std::env::consts::ARCH != "x86_64" {
            eprintln!("skipping: the test wheels are tagged for x86_64");
            return None;
        }
        let python = version_of(interpreter)?;
        let server = IndexServer::start(registry(&python));
        let dir = tempfile::tempdir().unwrap();
        generate_for(&server.index_url(), &python, "linux", &["demo", "-o", "requirements.txt"])
            .current_dir(dir.path())
            .assert()
            .success();
        let venv = venv()?;
        let out = venv.install_require_hashes(&server.index_url(), &dir.path().join("requirements.txt"), &[]);
        assert!(out.status.success(), "pip install: {}", String::from_utf8_lossy(&out.stderr));
        Some(Self { server, dir, venv, python })
    }

    fn lock(&self) -> PathBuf {
        self.dir.path().join("requirements.txt")
    }

    fn site(&self) -> PathBuf {
        self.venv.root().join(format!("lib/python{}/site-packages", self.python))
    }

    fn bin(&self, name: &str) -> PathBuf {
        self.venv.root().join("bin").join(name)
    }

    /// `hashlock verify [LOCK] --installed VENV --format json`, with a cache of its own.
    fn verify(&self, lock: Option<&Path>) -> Ran {
        self.verify_as(lock, "json")
    }

    fn verify_as(&self, lock: Option<&Path>, format: &str) -> Ran {
        let mut command = hashlock();
        command.arg("verify").args(lock).arg("--installed").arg(self.venv.root());
        command.args(["--index-url", &self.server.index_url(), "--format", format, "--cache-dir"]);
        command.arg(self.dir.path().join("cache"));
        Ran::of(&mut command, &[])
    }

    fn pip(&self, args: &[&str]) {
        let index = self.server.index_url();
        let out = self.venv.pip(&[&["install", "--index-url", &index][..], args].concat());
        assert!(out.status.success(), "pip {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

fn append(path: &Path, text: &str) {
    let mut bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    bytes.extend_from_slice(text.as_bytes());
    std::fs::write(path, bytes).unwrap();
}

/// `(severity, code, package, message)` of every finding at warning or above.
fn problems(ran: &Ran) -> Vec<(String, String, String, String)> {
    let json = ran.json();
    let findings = json["findings"].as_array().cloned().unwrap_or_default();
    findings
        .iter()
        .filter(|f| f["severity"] != "info")
        .map(|f| {
            let field = |key: &str| f[key].as_str().unwrap_or_default().to_string();
            (field("severity"), field("code"), field("package"), field("message"))
        })
        .collect()
}

/// The one finding at warning or above: its severity, code, package and message.
fn only_problem(ran: &Ran) -> (String, String, String, String) {
    match problems(ran).as_slice() {
        [one] => one.clone(),
        other => panic!("expected one finding, got {other:#?}\n{}", ran.stdout),
    }
}

#[test]
fn a_clean_install_passes_and_a_second_run_downloads_nothing() {
    let Some(env) = Installed::new() else { return };
    // What the test is about: pip kept the wheel's wrong RECORD digest, rewrote the shebang
    // and generated the launcher.
    let record = std::fs::read_to_string(env.site().join("demo-1.0.dist-info/RECORD")).unwrap();
    let extra = std::fs::read(env.site().join("demo/extra.py")).unwrap();
    let line = record.lines().find(|l| l.starts_with("demo/extra.py,")).expect("RECORD line");
    assert!(!line.contains(&support::build::b64_sha256(&extra)), "{line}");
    let tool = std::fs::read_to_string(env.bin("demo-tool")).unwrap();
    assert!(tool.starts_with("#!/") && tool.ends_with("\nimport demo\ndemo.main()\n"), "{tool}");

    let ran = env.verify(Some(&env.lock()));
    assert_eq!(ran.code, 0, "{}{}", ran.stdout, ran.stderr);
    assert_eq!(problems(&ran), vec![]);
    let label = ran.json()["target"].as_str().unwrap_or_default().to_string();
    assert!(label.contains("distribution(s)") && label.contains("verified against the requirements file"), "{label}");
    // pip (and setuptools before 3.12) came with the venv: named, but only as information.
    let infos: Vec<String> = ran.json()["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["code"] == "not-in-lock")
        .map(|f| format!("{} {}", f["severity"], f["package"]))
        .collect();
    assert!(infos.contains(&"\"info\" \"pip\"".to_string()), "{infos:?}");

    env.server.clear_log();
    let again = env.verify(Some(&env.lock()));
    assert_eq!(again.code, 0, "{}", again.stdout);
    let downloads = env.server.log().iter().filter(|l| l.path.ends_with(".whl")).count();
    assert_eq!(downloads, 0, "the second run reads its wheel summaries from the cache");

    // Without a lock, the index alone vouches for every distribution.
    let ran = env.verify(None);
    assert_eq!((ran.code, problems(&ran)), (0, vec![]), "{}", ran.stdout);

    // The environment named by its python, or by VIRTUAL_ENV; both see the planted file.
    std::fs::write(env.site().join("zz.pth"), "import os\n").unwrap();
    let index = env.server.index_url();
    let by_python = Ran::of(
        hashlock().args(["verify", "--installed"]).arg(env.bin("python")).args([
            "-i",
            &index,
            "--no-cache",
            "--format",
            "json",
        ]),
        &[],
    );
    let active = Ran::of(
        hashlock()
            .args(["verify", "--installed", "-i", &index, "--no-cache", "--format", "json"])
            .env("VIRTUAL_ENV", env.venv.root()),
        &[],
    );
    for ran in [by_python, active] {
        assert_eq!((ran.code, only_problem(&ran).1.as_str()), (1, "unowned-file"), "{}", ran.stdout);
    }
}

/// pip 26 writes launchers of its own form (no `re`): HASHLOCK_PIP_WHEEL's pip installs.
#[test]
fn a_clean_install_by_a_recent_pip_passes() {
    let Some(env) = Installed::with("python3", Venv::with_recent_pip) else { return };
    let launcher = std::fs::read_to_string(env.bin("demo")).unwrap();
    let ran = env.verify(Some(&env.lock()));
    assert_eq!((ran.code, problems(&ran)), (0, vec![]), "{}\n{launcher}", ran.stdout);
    append(&env.bin("demo"), "\n");
    assert_eq!(only_problem(&env.verify(Some(&env.lock()))).1, "installed-file-modified");
}

#[test]
fn a_changed_module_is_an_error_naming_file_and_package() {
    let Some(env) = Installed::new() else { return };
    append(&env.site().join("demo/__init__.py"), "import os\n");
    let ran = env.verify(Some(&env.lock()));
    assert_eq!(ran.code, 1);
    let (severity, code, package, message) = only_problem(&ran);
    assert_eq!((severity.as_str(), code.as_str(), package.as_str()), ("error", "installed-file-modified", "demo"));
    assert!(message.contains("site-packages/demo/__init__.py differs from demo-1.0-py3-none-any.whl"), "{message}");

    // The same finding in the other formats, under the title with the counts.
    for (format, marked) in
        [("text", "[installed-file-modified] demo 1.0: "), ("markdown", "- `installed-file-modified`: demo 1.0: ")]
    {
        let ran = env.verify_as(Some(&env.lock()), format);
        assert_eq!(ran.code, 1);
        assert!(ran.stdout.contains(marked), "{format}:\n{}", ran.stdout);
        assert!(ran.stdout.contains("file(s) checked"), "{format}:\n{}", ran.stdout);
    }
}

#[test]
fn a_removed_file_is_a_warning_that_fails_by_default() {
    let Some(env) = Installed::new() else { return };
    std::fs::remove_file(env.site().join("demo/extra.py")).unwrap();
    let ran = env.verify(Some(&env.lock()));
    assert_eq!(ran.code, 1);
    let (severity, code, package, message) = only_problem(&ran);
    assert_eq!((severity.as_str(), code.as_str(), package.as_str()), ("warning", "installed-file-missing", "demo"));
    assert!(message.contains("demo/extra.py is missing"), "{message}");
}

#[test]
fn a_planted_pth_file_is_an_error_and_a_stray_text_file_a_warning() {
    let Some(env) = Installed::new() else { return };
    std::fs::write(env.site().join("zz.pth"), "import os; os.system('true')\n").unwrap();
    let ran = env.verify(Some(&env.lock()));
    assert_eq!(ran.code, 1);
    let (severity, code, _, message) = only_problem(&ran);
    assert_eq!((severity.as_str(), code.as_str()), ("error", "unowned-file"));
    assert!(message.contains("site-packages/zz.pth: a .pth file"), "{message}");

    std::fs::remove_file(env.site().join("zz.pth")).unwrap();
    std::fs::write(env.site().join("notes.txt"), "hello\n").unwrap();
    let (severity, code, _, _) = only_problem(&env.verify(Some(&env.lock())));
    assert_eq!((severity.as_str(), code.as_str()), ("warning", "unowned-file"));
}

#[test]
fn edited_scripts_are_errors() {
    let Some(env) = Installed::new() else { return };
    append(&env.bin("demo"), "import os\n");
    let ran = env.verify(Some(&env.lock()));
    assert_eq!(ran.code, 1);
    let (_, code, package, message) = only_problem(&ran);
    assert_eq!((code.as_str(), package.as_str()), ("installed-file-modified", "demo"));
    assert!(message.contains("bin/demo is not the launcher an installer generates for `demo:main`"), "{message}");

    // A `.data/scripts` file may differ in its shebang only.
    let tool = env.bin("demo-tool");
    let text = std::fs::read_to_string(&tool).unwrap();
    std::fs::write(&tool, text.replacen('\n', "\nimport os\n", 1)).unwrap();
    let problems = problems(&env.verify(Some(&env.lock())));
    assert!(
        problems.iter().any(|p| p.3.contains("bin/demo-tool differs from demo-1.0-py3-none-any.whl after its shebang"))
    );
}

#[test]
fn a_package_installed_outside_the_lock_is_an_error() {
    let Some(env) = Installed::new() else { return };
    env.pip(&["--no-deps", "stray"]);
    let ran = env.verify(Some(&env.lock()));
    assert_eq!(ran.code, 1);
    let (severity, code, package, message) = only_problem(&ran);
    assert_eq!((severity.as_str(), code.as_str(), package.as_str()), ("error", "not-in-lock", "stray"));
    assert!(message.contains("stray 1.0 is installed, and the requirements file does not name it"), "{message}");
    // The index still vouches for its bytes.
    assert_eq!(env.verify(None).code, 0);

    // And the other way round: the lock's package that is gone.
    let out = env.venv.pip(&["uninstall", "-y", "helper"]);
    assert!(out.status.success());
    let codes: Vec<(String, String)> =
        problems(&env.verify(Some(&env.lock()))).into_iter().map(|p| (p.1, p.2)).collect();
    assert!(codes.contains(&("not-installed".into(), "helper".into())), "{codes:?}");
}

#[test]
fn a_package_from_a_local_sdist_is_unverifiable_but_its_record_still_checked() {
    let Some(env) = Installed::new() else { return };
    env.pip(&["--no-deps", "tinybackend"]);
    let pyproject = "[build-system]\nrequires = [\"tinybackend\"]\nbuild-backend = \"tinybackend\"\n";
    let pkg_info = "Metadata-Version: 2.1\nName: local\nVersion: 1.0\n";
    let sdist = backend_sdist("local", "1.0", pkg_info, pyproject, &[("tiny.cfg", "local 1.0\n")]);
    let path = env.dir.path().join(&sdist.filename);
    std::fs::write(&path, &sdist.bytes).unwrap();
    env.pip(&["--no-deps", "--no-build-isolation", path.to_str().unwrap()]);

    let ran = env.verify(None);
    assert_eq!(ran.code, 0, "{}", ran.stdout);
    let json = ran.json();
    let local = json["findings"].as_array().into_iter().flatten().find(|f| f["package"] == "local").expect("named");
    assert_eq!((local["code"].as_str(), local["severity"].as_str()), (Some("unverifiable"), Some("info")));
    assert!(local["message"].as_str().unwrap_or_default().contains("installed from file://"), "{local}");

    append(&env.site().join("local/__init__.py"), "import os\n");
    let (_, code, package, message) = only_problem(&env.verify(None));
    assert_eq!((code.as_str(), package.as_str()), ("installed-file-modified", "local"));
    assert!(message.contains("differs from its RECORD"), "{message}");
}

/// The lock holds a wheel per Python; the WHEEL file's tags pick the one pip installed. A lock
/// without a wheel of those tags does not cover the installation.
#[test]
fn the_wheel_tags_pick_the_wheel_and_a_lock_without_them_fails() {
    let Some(env) = Installed::new() else { return };
    let ran = env.verify(Some(&env.lock()));
    assert_eq!(ran.code, 0, "{}", ran.stdout);

    // Keep only the other Python's wheel hash of `native`.
    let [mine, _] = native_tags(&env.python);
    let ours = env.server.registry().file(&format!("native-1.0-{mine}-{mine}-manylinux_2_17_x86_64.whl")).cloned();
    let sha256 = ours.expect("served").hashes["sha256"].clone();
    let text = std::fs::read_to_string(env.lock()).unwrap();
    let edited = env.dir.path().join("other-python.txt");
    std::fs::write(
        &edited,
        text.replace(&format!("--hash=sha256:{sha256}"), &format!("--hash=sha256:{}", "0".repeat(64))),
    )
    .unwrap();
    let ran = env.verify(Some(&edited));
    assert_eq!(ran.code, 1);
    let (_, code, package, message) = only_problem(&ran);
    assert_eq!((code.as_str(), package.as_str()), ("not-in-lock", "native"));
    assert!(
        message.contains(&format!("installed from a wheel tagged {mine}-{mine}-manylinux_2_17_x86_64")),
        "{message}"
    );
}

/// A venv of another Python (HASHLOCK_OTHER_PYTHON, or the first `python3.N` on PATH that runs
/// and is not python3): its own site-packages, its own tags, no setuptools from 3.12 on.
#[test]
fn a_venv_of_another_python_version() {
    let this = version_of("python3");
    let other = std::env::var("HASHLOCK_OTHER_PYTHON").ok().or_else(|| {
        (8..=14).map(|minor| format!("python3.{minor}")).find(|p| version_of(p).is_some_and(|v| Some(v) != this))
    });
    let Some(other) = other else {
        eprintln!("skipping: no Python but python3 on PATH (set HASHLOCK_OTHER_PYTHON)");
        return;
    };
    let Some(env) = Installed::with(&other, || Venv::create_with(&other)) else { return };
    assert_ne!(Some(&env.python), this.as_ref());
    let ran = env.verify(Some(&env.lock()));
    assert_eq!((ran.code, problems(&ran)), (0, vec![]), "{}", ran.stdout);
    let native = env.site().join("native/__init__.py");
    assert!(std::fs::read_to_string(&native).unwrap().contains(&native_tags(&env.python)[0]));
    append(&native, "import os\n");
    let (_, code, package, message) = only_problem(&env.verify(Some(&env.lock())));
    assert_eq!((code.as_str(), package.as_str()), ("installed-file-modified", "native"));
    let [mine, _] = native_tags(&env.python);
    assert!(message.contains(&format!("native-1.0-{mine}-{mine}-manylinux_2_17_x86_64.whl")), "{message}");
}
