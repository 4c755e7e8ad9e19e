//! `hashlock audit` on real lockfiles: uv.lock, pylock.toml, poetry.lock, pdm.lock and
//! Pipfile.lock, made by the real tools for one small project against the index below (see
//! `tests/fixtures/lockfiles/README.md`). Each is clean as written; each planted fault is caught
//! at its line; a malformed file exits 2 with one line.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::{IndexServer, Ran, Registry, Release, hashlock};

/// The index every fixture was locked against. Its files are built deterministically, so the
/// hashes the fixtures record are the ones a test's server publishes.
fn registry() -> Registry {
    Registry::new().with([
        Release::new("alpha", "1.0").requires(&["corelib>=1"]).extra("fast", &["speedups>=1"]).with_sdist(),
        // An older release, so that a lock has to choose.
        Release::new("alpha", "0.9").requires(&["corelib>=1"]),
        Release::new("speedups", "1.2").requires(&["corelib>=1.1"]),
        Release::new("corelib", "1.1").with_sdist(),
        Release::new("beta", "2.0").requires(&["backport; python_version < \"3.10\""]),
        Release::new("backport", "1.0"),
        Release::new("winonly", "1.0"),
        Release::new("gamma", "1.5")
            .wheels(&[
                "cp39-abi3-manylinux_2_17_x86_64",
                "cp39-abi3-manylinux_2_17_aarch64",
                "cp39-abi3-macosx_11_0_arm64",
                "cp39-abi3-win_amd64",
                "py3-none-any",
            ])
            .with_sdist(),
        Release::new("devtool", "0.5"),
    ])
}

/// The base URL the fixtures record instead of the regenerating server's: a test replaces it
/// with its own server's.
const PLACEHOLDER_BASE: &str = "http://127.0.0.1:9";

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lockfiles")
}

// --- the fixtures -------------------------------------------------------------------------------

/// One fixture and the lines of it that the malformed-file tests break.
struct Fixture {
    /// Its name in `tests/fixtures/lockfiles/`, which tells hashlock its format.
    file: &'static str,
    /// JSON (Pipfile.lock) rather than TOML: how an entry is cut out.
    json: bool,
    /// gamma's version line as the tool wrote it.
    gamma_version: &'static str,
    /// The format's version as written, and a version no reader knows.
    format_version: (&'static str, &'static str),
    /// What the audit is for when no target is given: every environment of a universal lock.
    target: &'static str,
}

impl Fixture {
    /// A TOML lockfile, whose package tables write `version = "1.5"`.
    const fn toml(file: &'static str, format_version: (&'static str, &'static str)) -> Self {
        let target = "universal: CPython and PyPy >= 3.9 on Linux, macOS, Windows";
        Self { file, json: false, gamma_version: r#"version = "1.5""#, format_version, target }
    }
}

const UV: Fixture = Fixture::toml("uv.lock", ("version = 1", "version = 99"));
const PYLOCK: Fixture = Fixture::toml("pylock.toml", (r#"lock-version = "1.0""#, r#"lock-version = "9.0""#));
const POETRY: Fixture = Fixture::toml("poetry.lock", (r#"lock-version = "2.1""#, r#"lock-version = "9.1""#));
const PDM: Fixture = Fixture::toml("pdm.lock", (r#"lock_version = "4.5.1""#, r#"lock_version = "9.5.1""#));
const PIPFILE: Fixture = Fixture {
    file: "Pipfile.lock",
    json: true,
    gamma_version: r#""version": "==1.5""#,
    format_version: (r#""pipfile-spec": 6,"#, r#""pipfile-spec": 99,"#),
    // Its `_meta.requires.python_version`, on this machine's platform.
    target: "CPython 3.11, linux",
};

/// The fixture in a temporary directory, audited against a server with the same index.
struct Workspace {
    fixture: &'static Fixture,
    server: IndexServer,
    dir: tempfile::TempDir,
    /// The fixture with the server's URL in place of the placeholder.
    text: String,
}

impl Workspace {
    fn new(fixture: &'static Fixture) -> Self {
        let server = IndexServer::start(registry());
        let recorded = std::fs::read_to_string(fixtures_dir().join(fixture.file)).unwrap();
        let text = recorded.replace(PLACEHOLDER_BASE, server.base_url());
        Self { fixture, server, dir: tempfile::tempdir().unwrap(), text }
    }

    /// `hashlock audit FILE --no-cache ARGS` on `text` written as the fixture's file, with no
    /// index given: the lock's own.
    fn audit_as_recorded(&self, text: &str, args: &[&str]) -> Ran {
        std::fs::write(self.dir.path().join(self.fixture.file), text).unwrap();
        let mut command = hashlock();
        command.args(["audit", self.fixture.file, "--no-cache"]).args(args).current_dir(self.dir.path());
        // Any index but the lock's or `-i`'s would be pip's: a closed port, not the internet.
        command.env("PIP_INDEX_URL", format!("{PLACEHOLDER_BASE}/simple"));
        Ran::of(&mut command, &[self.dir.path()])
    }

    /// The audit of `text` with `-i` naming the server, as JSON.
    fn audit(&self, text: &str, args: &[&str]) -> Ran {
        let index = self.server.index_url();
        self.audit_as_recorded(text, &[&["-i", index.as_str(), "--format", "json"], args].concat())
    }

    /// `FILE:N` for the line of the fixture that contains `needle`.
    fn at(&self, needle: &str) -> String {
        format!("{}:{}", self.fixture.file, line_of(&self.text, needle))
    }

    /// The line of the fixture that records `filename` (its URL, name or, in Pipfile.lock,
    /// its sha256).
    fn line_of_file(&self, filename: &str) -> &str {
        let sha256 = sha256_of(filename);
        let line =
            self.text.lines().find(|l| l.contains(&format!("/{filename}\"")) || l.contains(&format!("\"{filename}\"")));
        line.or_else(|| self.text.lines().find(|l| l.contains(&sha256)))
            .unwrap_or_else(|| panic!("{} records no {filename}", self.fixture.file))
    }

    /// The fixture with one line replaced.
    fn with_line(&self, line: &str, replacement: &str) -> String {
        assert_eq!(self.text.matches(line).count(), 1, "{line:?} is not one line of {}", self.fixture.file);
        self.text.replace(line, replacement)
    }

    /// The fixture without the entry of package `name`.
    fn without_package(&self, name: &str) -> String {
        let lines: Vec<&str> = self.text.lines().collect();
        let (start, end) = if self.fixture.json {
            let opening = format!("\"{name}\": {{");
            let start = lines.iter().position(|l| l.trim() == opening).unwrap_or_else(|| panic!("no {opening}"));
            let indent = &lines[start][..lines[start].len() - lines[start].trim_start().len()];
            let closing = start
                + lines[start..].iter().position(|l| *l == format!("{indent}}},")).expect("an entry before another");
            (start, closing + 1)
        } else {
            let named = format!("name = \"{name}\"");
            let start = lines.iter().position(|l| *l == named).unwrap_or_else(|| panic!("no {named}")) - 1;
            // The entry runs to the next table that is not one of its own (`[package.source]`).
            let next = lines[start + 1..]
                .iter()
                .position(|l| l.starts_with('[') && !l.starts_with("[package.") && !l.starts_with("[packages."));
            (start, next.map_or(lines.len(), |next| start + 1 + next))
        };
        let kept: Vec<&str> = lines[..start].iter().chain(&lines[end..]).copied().collect();
        kept.join("\n") + "\n"
    }
}

/// The 1-based number of the only line of `text` that contains `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    let lines: Vec<usize> = text.lines().enumerate().filter(|(_, l)| l.contains(needle)).map(|(n, _)| n + 1).collect();
    match lines[..] {
        [line] => line,
        _ => panic!("{needle:?} is on lines {lines:?}, not on one line"),
    }
}

fn sha256_of(filename: &str) -> String {
    registry().file(filename).unwrap_or_else(|| panic!("no {filename} on the index")).hashes["sha256"].clone()
}

/// Exit 0: no warning or error (an info may note something).
fn assert_clean(ran: &Ran) {
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    let report = ran.json();
    assert_eq!((&report["summary"]["errors"], &report["summary"]["warnings"]), (&0.into(), &0.into()), "{report:#}");
}

fn assert_found(ran: &Ran, code: &str, package: &str, location: &str) {
    assert_eq!(ran.code, 1, "{code} fails the audit:\n{}\n{}", ran.stdout, ran.stderr);
    let found = ran.findings();
    assert!(
        found.iter().any(|(c, p, l)| c == code && p == package && l == location),
        "expected {code} for {package} at {location}, found {found:#?}"
    );
}

/// The Windows wheel of gamma, one of its six files.
const GAMMA_WINDOWS: &str = "gamma-1.5-cp39-abi3-win_amd64.whl";
const GAMMA_MACOS: &str = "gamma-1.5-cp39-abi3-macosx_11_0_arm64.whl";
const GAMMA_LINUX: &str = "gamma-1.5-cp39-abi3-manylinux_2_17_x86_64.whl";
const SPEEDUPS_WHEEL: &str = "speedups-1.2-py3-none-any.whl";

// --- the tests, run for each format -------------------------------------------------------------

/// Clean as the tool wrote it, for every environment a universal lock covers (default
/// `--fail-on warning`: not even a warning).
fn is_clean(fixture: &'static Fixture) {
    let ws = Workspace::new(fixture);
    let ran = ws.audit(&ws.text, &[]);
    assert_clean(&ran);
    let report = ran.json();
    assert!(report["target"].as_str().unwrap().starts_with(fixture.target), "{}", report["target"]);
    let packages: Vec<&str> =
        report["packages"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert!(packages.contains(&"gamma") && packages.contains(&"devtool"), "the dev group is audited too: {packages:?}");
}

/// Without `-i`, the index the lock records (here the test's server) is the one audited against.
fn uses_the_recorded_index(fixture: &'static Fixture) {
    let ws = Workspace::new(fixture);
    let ran = ws.audit_as_recorded(&ws.text, &["--format", "json"]);
    assert_clean(&ran);
    assert_eq!(ran.json()["indexes"], serde_json::json!(["http://127.0.0.1:PORT/simple"]));
    assert!(ws.server.requests("/simple/gamma/") > 0, "the server was asked");
}

/// pdm.lock records no index: pip's configuration names it, as for a requirements file.
fn uses_pips_index(fixture: &'static Fixture) {
    let ws = Workspace::new(fixture);
    assert!(!ws.text.contains("/simple"), "{} records an index now: test it as the others", fixture.file);
    std::fs::write(ws.dir.path().join(fixture.file), &ws.text).unwrap();
    let mut command = hashlock();
    command.args(["audit", fixture.file, "--no-cache", "--format", "json"]).env("PIP_INDEX_URL", ws.server.index_url());
    let ran = Ran::of(command.current_dir(ws.dir.path()), &[]);
    assert_clean(&ran);
    assert_eq!(ran.json()["indexes"], serde_json::json!(["http://127.0.0.1:PORT/simple"]));
}

/// One hex digit of gamma's Windows wheel's sha256 changed: a hash-mismatch at that hash's line,
/// though the audit's own machine is not Windows.
fn a_changed_hash_is_a_mismatch(fixture: &'static Fixture) {
    let ws = Workspace::new(fixture);
    let hex = sha256_of(GAMMA_WINDOWS);
    let flipped = format!("{}{}", &hex[..10], if &hex[10..11] == "0" { "1" } else { "0" }) + &hex[11..];
    let tampered = ws.with_line(&hex, &flipped);
    let ran = ws.audit(&tampered, &[]);
    assert_found(&ran, "hash-mismatch", "gamma", &ws.at(&hex));
    let text = ws.audit_as_recorded(&tampered, &["-i", &ws.server.index_url()]);
    insta::assert_snapshot!(format!("{}_changed_hash_text", fixture.file.replace('.', "_")), text.stdout);
}

/// corelib (needed by alpha and speedups) cut out of the lock.
fn a_removed_dependency_is_missing(fixture: &'static Fixture) {
    let ws = Workspace::new(fixture);
    assert_missing(&ws, &ws.without_package("corelib"), "corelib");
}

/// backport is needed only below Python 3.10 (by beta): a universal lock is audited there too.
fn a_dependency_needed_only_on_old_pythons_is_missing(fixture: &'static Fixture) {
    let ws = Workspace::new(fixture);
    assert_missing(&ws, &ws.without_package("backport"), "backport");
}

/// speedups is needed by alpha's extra `fast`, which the lock records alpha is installed with.
fn a_removed_extra_dependency_is_missing(fixture: &'static Fixture) {
    let ws = Workspace::new(fixture);
    assert_missing(&ws, &ws.without_package("speedups"), "speedups");
}

/// The audit of `text` fails naming `package` as missing, at a line of the file (a dependent's).
fn assert_missing(ws: &Workspace, text: &str, package: &str) {
    let ran = ws.audit(text, &[]);
    assert_eq!(ran.code, 1, "{}\n{}", ran.stdout, ran.stderr);
    let found = ran.findings();
    let in_file = format!("{}:", ws.fixture.file);
    assert!(
        found.iter().any(|(code, name, location)| code == "missing-dependency"
            && name == package
            && location.starts_with(&in_file)),
        "expected missing-dependency for {package} at a line of {}, found {found:#?}",
        ws.fixture.file
    );
}

/// speedups' only file recorded with an md5 instead of its sha256.
fn an_md5_hash_is_weak(fixture: &'static Fixture) {
    let ws = Workspace::new(fixture);
    let hex = sha256_of(SPEEDUPS_WHEEL);
    let line = ws.line_of_file(SPEEDUPS_WHEEL);
    let md5 = "0123456789abcdef".repeat(2);
    let weak = line.replace(&format!("sha256:{hex}"), &format!("md5:{md5}"));
    let weak = weak.replace(&format!("sha256 = \"{hex}\""), &format!("md5 = \"{md5}\""));
    assert_ne!(weak, line, "no sha256 of {SPEEDUPS_WHEEL} to replace in {line:?}");
    let ran = ws.audit(&ws.with_line(line, &weak), &[]);
    assert_found(&ran, "weak-hash-only", "speedups", &ws.at(&hex));
}

/// gamma's macOS wheel deleted from the index after locking: not-on-index at its line.
fn a_file_gone_from_the_index_is_not_on_it(fixture: &'static Fixture) {
    let ws = Workspace::new(fixture);
    ws.server.remove_file(GAMMA_MACOS);
    let ran = ws.audit(&ws.text, &[]);
    assert_found(&ran, "not-on-index", "gamma", &ws.at(ws.line_of_file(GAMMA_MACOS)));
}

/// Pipfile.lock names no files, only hashes: the deleted file's hash now matches nothing.
fn a_file_gone_from_the_index_leaves_its_hash_unmatched(fixture: &'static Fixture) {
    let ws = Workspace::new(fixture);
    ws.server.remove_file(GAMMA_MACOS);
    let ran = ws.audit(&ws.text, &[]);
    assert_found(&ran, "hash-mismatch", "gamma", &ws.at(&sha256_of(GAMMA_MACOS)));
}

/// gamma's Linux wheel recorded one byte longer than it is.
fn a_wrong_size_is_a_size_mismatch(fixture: &'static Fixture) {
    let ws = Workspace::new(fixture);
    let size = registry().file(GAMMA_LINUX).and_then(|f| f.size).expect("a size");
    let line = ws.line_of_file(GAMMA_LINUX);
    let wrong = line.replace(&format!("size = {size}"), &format!("size = {}", size + 1));
    assert_ne!(wrong, line, "no size in {line:?}");
    let ran = ws.audit(&ws.with_line(line, &wrong), &[]);
    assert_found(&ran, "size-mismatch", "gamma", &ws.at(line));
}

/// Broken syntax, a value of the wrong type, a format version hashlock does not read: exit 2,
/// one line on stderr naming the file and the line, nothing on stdout.
fn malformed_exits_2_naming_file_and_line(fixture: &'static Fixture) {
    let ws = Workspace::new(fixture);
    let version = fixture.gamma_version;
    let (key, _) = version.rsplit_once(' ').unwrap();
    let cases = [
        ("an unterminated string", ws.with_line(version, &version[..version.len() - 1]), version),
        ("a number for a version", ws.with_line(version, &format!("{key} 15")), version),
        (
            "an unknown format version",
            ws.with_line(fixture.format_version.0, fixture.format_version.1),
            fixture.format_version.0,
        ),
    ];
    for (what, text, line) in cases {
        let ran = ws.audit(&text, &[]);
        let location = ws.at(line);
        assert_eq!(ran.code, 2, "{what}: {}\n{}", ran.stderr, ran.stdout);
        assert_eq!(ran.stderr.trim_end().lines().count(), 1, "{what}: one line:\n{}", ran.stderr);
        assert!(ran.stderr.contains(&format!("{location}:")), "{what}: names {location}:\n{}", ran.stderr);
        assert!(ran.stdout.is_empty(), "{what}: {}", ran.stdout);
    }
}

/// pipenv locks a package whose marker is false where it locks (winonly, Windows only, locked
/// on Linux) as `"version": "*"` with no hashes: on Windows that is an unpinned, unhashed
/// install.
fn an_unlocked_windows_dependency_fails_on_windows(fixture: &'static Fixture) {
    let ws = Workspace::new(fixture);
    let ran = ws.audit(&ws.text, &["--python-version", "3.11", "--python-platform", "windows"]);
    assert_eq!(ran.code, 1, "{}\n{}", ran.stdout, ran.stderr);
    let winonly: Vec<_> = ran.findings().into_iter().filter(|(_, package, _)| package == "winonly").collect();
    assert!(!winonly.is_empty(), "a finding names winonly: {:#?}", ran.findings());
    assert!(winonly.iter().all(|(_, _, location)| *location == ws.at("\"winonly\": {")), "{winonly:#?}");
}

/// A module of tests for one fixture: those every format has, and the named ones, each called
/// with it.
/// `verify LOCKFILE DIR`: downloaded files the lock records pass; one changed byte is a
/// `local-mismatch` naming the package.
fn verify_checks_downloads_against_the_lock(fixture: &'static Fixture) {
    let ws = Workspace::new(fixture);
    std::fs::write(ws.dir.path().join(fixture.file), &ws.text).unwrap();
    let downloads = ws.dir.path().join("dl");
    std::fs::create_dir(&downloads).unwrap();
    let registry = ws.server.registry();
    let download = |filename: &str, change: bool| {
        let mut bytes = registry.file(filename).and_then(|f| f.bytes.clone()).unwrap();
        if change {
            let last = bytes.len() - 1;
            bytes[last] ^= 1;
        }
        std::fs::write(downloads.join(filename), bytes).unwrap();
    };
    let verify = || {
        let mut command = hashlock();
        command.args(["verify", fixture.file, "dl", "--no-cache", "--fail-on", "error", "--format", "json"]);
        command.args(["-i", &ws.server.index_url()]).current_dir(ws.dir.path());
        Ran::of(&mut command, &[ws.dir.path()])
    };
    download(GAMMA_LINUX, false);
    download(SPEEDUPS_WHEEL, false);
    let ran = verify();
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    download(GAMMA_LINUX, true);
    let ran = verify();
    assert_eq!(ran.code, 1, "{}", ran.stdout);
    let found = ran.findings();
    assert!(found.iter().any(|(code, package, _)| code == "local-mismatch" && package == "gamma"), "{found:#?}");
}

/// `export LOCKFILE`: the lock as a requirements file that pip installs with
/// `--require-hashes` in a fresh virtualenv, from the loopback index.
fn exports_what_pip_installs(fixture: &'static Fixture) {
    let ws = Workspace::new(fixture);
    std::fs::write(ws.dir.path().join(fixture.file), &ws.text).unwrap();
    let mut command = hashlock();
    command.args(["export", fixture.file, "-o", "requirements.txt", "--no-cache", "-i", &ws.server.index_url()]);
    let ran = Ran::of(command.current_dir(ws.dir.path()), &[ws.dir.path()]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let Some(venv) = support::pip::Venv::create() else { return };
    let installed = venv.install_require_hashes(&ws.server.index_url(), &ws.dir.path().join("requirements.txt"), &[]);
    let requirements = std::fs::read_to_string(ws.dir.path().join("requirements.txt")).unwrap();
    assert!(installed.status.success(), "pip: {}\n{requirements}", String::from_utf8_lossy(&installed.stderr));
    let imported = venv.python("import alpha, corelib, gamma");
    assert!(imported.status.success(), "{}", String::from_utf8_lossy(&imported.stderr));
}

macro_rules! tests_of {
    ($module:ident, $fixture:expr, [$($test:ident),* $(,)?]) => {
        mod $module {
            $(
                #[test]
                fn $test() {
                    super::$test(&$fixture);
                }
            )*
        }
    };
    ($module:ident, $fixture:expr, also [$($test:ident),* $(,)?]) => {
        tests_of!($module, $fixture, [
            is_clean,
            a_changed_hash_is_a_mismatch,
            a_removed_dependency_is_missing,
            an_md5_hash_is_weak,
            malformed_exits_2_naming_file_and_line,
            verify_checks_downloads_against_the_lock,
            exports_what_pip_installs,
            $($test),*
        ]);
    };
}

tests_of!(uv, super::UV, also [
    uses_the_recorded_index,
    a_dependency_needed_only_on_old_pythons_is_missing,
    a_removed_extra_dependency_is_missing,
    a_file_gone_from_the_index_is_not_on_it,
    a_wrong_size_is_a_size_mismatch,
]);
// pylock.toml and poetry.lock do not say which extras a package is installed with.
tests_of!(pylock, super::PYLOCK, also [
    uses_the_recorded_index,
    a_dependency_needed_only_on_old_pythons_is_missing,
    a_file_gone_from_the_index_is_not_on_it,
    a_wrong_size_is_a_size_mismatch,
]);
// poetry.lock and pdm.lock record no sizes.
tests_of!(poetry, super::POETRY, also [
    uses_the_recorded_index,
    a_dependency_needed_only_on_old_pythons_is_missing,
    a_file_gone_from_the_index_is_not_on_it,
]);
tests_of!(pdm, super::PDM, also [
    uses_pips_index,
    a_dependency_needed_only_on_old_pythons_is_missing,
    a_removed_extra_dependency_is_missing,
    a_file_gone_from_the_index_is_not_on_it,
]);
// Pipfile.lock is for one environment (Python 3.11 on Linux here), without backport, and
// records hashes per package, not per file.
tests_of!(pipfile, super::PIPFILE, also [
    uses_the_recorded_index,
    a_removed_extra_dependency_is_missing,
    a_file_gone_from_the_index_leaves_its_hash_unmatched,
    an_unlocked_windows_dependency_fails_on_windows,
]);

// --- regenerating the fixtures -----------------------------------------------------------------

/// `demo-app`'s `[project]` and dev group, for the tools that read `pyproject.toml`.
const PROJECT: &str = r#"[project]
name = "demo-app"
version = "0.1.0"
requires-python = ">=3.9"
dependencies = [
    "alpha[fast]",
    "beta; python_version < '3.12'",
    "winonly; sys_platform == 'win32'",
    "gamma",
]

[dependency-groups]
dev = ["devtool"]
"#;

/// One lock tool: the files it reads, the commands it runs and the lockfiles they write.
struct LockTool {
    name: &'static str,
    /// `(file, contents)` given the index URL.
    project: fn(&str) -> Vec<(&'static str, String)>,
    commands: &'static [&'static [&'static str]],
    outputs: &'static [&'static str],
}

const LOCK_TOOLS: [LockTool; 4] = [
    LockTool {
        name: "uv",
        project: |index| {
            vec![(
                "pyproject.toml",
                format!("{PROJECT}\n[[tool.uv.index]]\nname = \"local\"\nurl = \"{index}\"\ndefault = true\n"),
            )]
        },
        commands: &[&["uv", "lock"], &["uv", "export", "--format", "pylock.toml", "--output-file", "pylock.toml"]],
        outputs: &["uv.lock", "pylock.toml"],
    },
    LockTool {
        name: "poetry",
        project: |index| {
            let source =
                format!("[[tool.poetry.source]]\nname = \"local\"\nurl = \"{index}\"\npriority = \"primary\"\n");
            vec![("pyproject.toml", format!("{PROJECT}\n[tool.poetry]\npackage-mode = false\n\n{source}"))]
        },
        commands: &[&["poetry", "lock", "--no-interaction"]],
        outputs: &["poetry.lock"],
    },
    LockTool {
        name: "pdm",
        project: |index| {
            // Named "pypi", it replaces PDM's default index instead of adding to it.
            let source = format!("[[tool.pdm.source]]\nname = \"pypi\"\nurl = \"{index}\"\nverify_ssl = false\n");
            vec![("pyproject.toml", format!("{PROJECT}\n[tool.pdm]\ndistribution = false\n\n{source}"))]
        },
        commands: &[&["pdm", "lock"]],
        outputs: &["pdm.lock"],
    },
    LockTool {
        name: "pipenv",
        project: |index| {
            let pipfile = format!(
                r#"[[source]]
name = "local"
url = "{index}"
verify_ssl = false

[packages]
alpha = {{version = "*", extras = ["fast"]}}
beta = {{version = "*", markers = "python_version < '3.12'"}}
winonly = {{version = "*", markers = "sys_platform == 'win32'"}}
gamma = "*"

[dev-packages]
devtool = "*"

[requires]
python_version = "3.11"
"#
            );
            vec![("Pipfile", pipfile)]
        },
        commands: &[&["pipenv", "lock"]],
        outputs: &["Pipfile.lock"],
    },
];

/// The tools' environment: nothing from the machine's (no PIP_*, UV_*, POETRY_*, PDM_*,
/// PIPENV_* settings, no user configuration or cache), the tools' venv first on PATH.
fn tool_command(tools: &Path, home: &Path, program: &str) -> Command {
    let mut command = Command::new(tools.join(program));
    command.env_clear();
    command.env("PATH", format!("{}:/usr/local/bin:/usr/bin:/bin", tools.display()));
    command.env("HOME", home).env("LANG", "C.UTF-8").env("TMPDIR", home);
    for (variable, dir) in
        [("XDG_CACHE_HOME", ".cache"), ("XDG_CONFIG_HOME", ".config"), ("XDG_DATA_HOME", ".local/share")]
    {
        command.env(variable, home.join(dir));
    }
    // Never fetch an interpreter: lock with the venv's.
    command.env("UV_PYTHON_DOWNLOADS", "never");
    command.env("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring");
    command.env("PDM_CHECK_UPDATE", "false").env("PDM_PYTHON", tools.join("python3"));
    command.env("PIPENV_VENV_IN_PROJECT", "1").env("PIPENV_YES", "1").env("PIPENV_NOSPIN", "1");
    command.env("PIPENV_PYTHON", tools.join("python3"));
    command
}

/// The first line `PROGRAM --version` prints.
fn tool_version(tools: &Path, home: &Path, program: &str) -> String {
    let output = tool_command(tools, home, program).arg("--version").output().expect("the tool runs");
    String::from_utf8_lossy(&output.stdout).lines().next().unwrap_or_default().trim().to_string()
}

/// Writes the lockfiles of `tests/fixtures/lockfiles/` with the real tools from the venv bin
/// directory `HASHLOCK_LOCK_TOOLS`; `scripts/regen-lock-fixtures` sets it up.
#[test]
#[ignore = "runs uv, Poetry, PDM and Pipenv: scripts/regen-lock-fixtures"]
fn regenerate_fixtures() {
    let tools = PathBuf::from(std::env::var_os("HASHLOCK_LOCK_TOOLS").expect("HASHLOCK_LOCK_TOOLS: a venv's bin dir"));
    let server = IndexServer::start(registry());
    let work = tempfile::tempdir().unwrap();
    let home = work.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let mut versions = Vec::new();
    for tool in &LOCK_TOOLS {
        let project = work.path().join(tool.name);
        std::fs::create_dir_all(&project).unwrap();
        for (file, contents) in (tool.project)(&server.index_url()) {
            std::fs::write(project.join(file), contents).unwrap();
        }
        for args in tool.commands {
            let output = tool_command(&tools, &home, args[0]).args(&args[1..]).current_dir(&project).output().unwrap();
            assert!(
                output.status.success(),
                "{} failed:\n{}\n{}",
                args.join(" "),
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        for output in tool.outputs {
            let text = std::fs::read_to_string(project.join(output)).unwrap();
            std::fs::write(fixtures_dir().join(output), text.replace(server.base_url(), PLACEHOLDER_BASE)).unwrap();
        }
        versions.push(format!("- {}", tool_version(&tools, &home, tool.commands[0][0])));
    }
    record_versions(&versions.join("\n"));
}

/// Replaces the list of tool versions in the fixtures' README.
fn record_versions(list: &str) {
    const START: &str = "<!-- tool versions -->\n";
    const END: &str = "<!-- end -->";
    let path = fixtures_dir().join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let (before, rest) = readme.split_once(START).expect("the README marks the tool versions");
    let (_, after) = rest.split_once(END).expect("the README ends the tool versions");
    std::fs::write(&path, format!("{before}{START}{list}\n{END}{after}")).unwrap();
}
