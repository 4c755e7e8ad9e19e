//! pip as the judge: what hashlock writes must install with `pip install --require-hashes` in a
//! fresh virtualenv from the loopback index, and a tampered file must make pip refuse.
//! Without python3 (with venv and pip) these tests skip, unless HASHLOCK_REQUIRE_PIP=1.

mod support;

use std::path::Path;
use std::process::Output;

use support::pip::Venv;
use support::{IndexServer, LockFile, Registry, Release};

/// A small tree: an app with an sdist too, an extra, a platform-specific wheel, and an older
/// and newer version of one dependency.
fn tree() -> Registry {
    Registry::new().with([
        Release::new("app", "1.0").requires(&["helper>=1", "util[fast]"]).with_sdist(),
        Release::new("helper", "1.0"),
        Release::new("helper", "2.0").requires(&["util"]),
        Release::new("util", "1.0").extra("fast", &["speedup"]),
        Release::new("speedup", "1.0").wheels(&["py3-none-any", "cp311-cp311-win_amd64"]),
    ])
}

const PINS: [&str; 4] = ["app==1.0", "helper==2.0", "speedup==1.0", "util==1.0"];

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn assert_installed(venv: &Venv, output: &Output) {
    assert!(output.status.success(), "pip install failed:\n{}\n{}", text(&output.stdout), text(&output.stderr));
    let check = venv.python(
        "import app, helper, util, speedup; print(app.__version__, helper.__version__, util.__version__, speedup.__version__)",
    );
    assert!(check.status.success(), "{}", text(&check.stderr));
    assert_eq!(text(&check.stdout).trim(), "1.0 2.0 1.0 1.0");
}

/// The server and the built wheels alone, with a hand-written `--require-hashes` file:
/// pip must accept both, or the hashlock tests below would judge the fixtures, not hashlock.
#[test]
fn pip_accepts_the_test_index_and_its_wheels() {
    let registry = tree();
    let server = IndexServer::start(registry.clone());
    let Some(venv) = Venv::create() else { return };
    let mut requirements = String::new();
    for pin in PINS {
        let (name, version) = pin.split_once("==").unwrap();
        requirements.push_str(pin);
        for sha in registry.sha256s(name, version) {
            requirements.push_str(&format!(" \\\n    --hash=sha256:{sha}"));
        }
        requirements.push('\n');
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("requirements.txt");
    std::fs::write(&path, requirements).unwrap();

    assert_installed(&venv, &venv.install_require_hashes(&server.index_url(), &path, &[]));
    let log = server.log();
    assert!(log.iter().any(|l| l.path == "/simple/app/" && l.status == 200), "pip read the project page: {log:#?}");
    assert!(log.iter().any(|l| l.path == "/files/app-1.0-py3-none-any.whl" && l.status == 200), "{log:#?}");

    server.tamper("util-1.0-py3-none-any.whl");
    assert_refused(&venv.install_require_hashes(&server.index_url(), &path, &["--force-reinstall"]), "util");
}

fn assert_refused(output: &Output, package: &str) {
    let stderr = text(&output.stderr);
    assert!(!output.status.success(), "pip installed a tampered wheel:\n{}", text(&output.stdout));
    assert!(stderr.contains("THESE PACKAGES DO NOT MATCH THE HASHES FROM THE REQUIREMENTS FILE"), "{stderr}");
    assert!(stderr.contains(package), "{stderr}");
}

#[test]
fn pip_installs_what_hashlock_writes_and_refuses_a_tampered_wheel() {
    let registry = tree();
    let server = IndexServer::start(registry.clone());
    let Some(venv) = Venv::create() else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("requirements.txt");
    support::generate(&server.index_url(), &["app", "-o"]).arg(&out).assert().success();
    let lock = LockFile::read(&out);
    lock.assert_pins_and_hashes(&registry, &PINS);

    assert_installed(&venv, &venv.install_require_hashes(&server.index_url(), &out, &[]));

    server.tamper("helper-2.0-py3-none-any.whl");
    let Some(fresh) = Venv::create() else { return };
    assert_refused(&fresh.install_require_hashes(&server.index_url(), &out, &[]), "helper");
}

/// `hashlock generate --universal --index-url URL --no-cache -o OUT ARGS...`: the mode that
/// writes markers taken from the index's metadata.
fn generate_universal(index_url: &str, out: &Path, args: &[&std::ffi::OsStr]) -> support::Ran {
    let mut command = support::hashlock();
    command.args(["generate", "--universal", "--python-version", "3.11", "--index-url", index_url, "--no-cache"]);
    support::Ran::of(command.arg("-o").arg(out).args(args), &[])
}

/// A dependency's marker from a hostile index: a form feed would end pip's line and let
/// `--extra-index-url` and an attacker's hashed requirement follow. The run fails in one line
/// naming the pin and writes nothing; a marker value that merely holds `'` is written in `"`.
#[test]
fn markers_from_the_index_cannot_inject_lines_or_options() {
    let hostile = format!(
        "helper ; platform_release == \"x' --hash=sha256:{}\x0c--extra-index-url http://evil.example/simple\x0chelper==1.0 ; python_version > '2\"",
        "e".repeat(64)
    );
    let quoted = "helper ; platform_release == \"it's\" or sys_platform == 'win32'";
    let registry = Registry::new().with([
        Release::new("demo", "1.0").requires(&[&hostile]),
        Release::new("plain", "1.0").requires(&[quoted]),
        Release::new("helper", "1.0"),
    ]);
    let server = IndexServer::start(registry.clone());
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("requirements.txt");

    let ran = generate_universal(&server.index_url(), &out, &["demo".as_ref()]);
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert_eq!(ran.stderr.lines().count(), 1, "one line:\n{}", ran.stderr);
    assert!(
        ran.stderr.contains("helper 1.0: cannot write its marker") && ran.stderr.contains("line break"),
        "{}",
        ran.stderr
    );
    assert!(!out.exists(), "a file was written");

    assert_eq!(generate_universal(&server.index_url(), &out, &["plain".as_ref()]).code, 0);
    let lock = LockFile::read(&out);
    assert_eq!(lock.entry("helper").marker.as_deref(), Some("sys_platform == 'win32' or platform_release == \"it's\""));
}

/// A requirements-file path with a form feed, as named in `# via -r PATH`, stays in its comment.
#[test]
fn a_requirements_path_cannot_inject_an_option() {
    let server = IndexServer::start(Registry::new().with([Release::new("helper", "1.0")]));
    let dir = tempfile::tempdir().unwrap();
    let hostile = dir.path().join("r\x0c--index-url http:");
    std::fs::create_dir(&hostile).unwrap();
    std::fs::write(hostile.join("req.in"), "helper\n").unwrap();
    let out = dir.path().join("requirements.txt");
    support::generate(&server.index_url(), &["-o"]).arg(&out).arg("-r").arg(hostile.join("req.in")).assert().success();
    let lock = LockFile::read(&out);
    assert!(lock.entry("helper").via[0].contains(r"r\x0c--index-url http:"), "{:?}", lock.entry("helper").via);
}

mod hostile_text {
    use std::collections::BTreeSet;
    use std::str::FromStr;

    use hashlock::lock::{Lock, LockedPackage};
    use hashlock::output::line::{self, LINE_BREAKS};
    use hashlock::output::requirements::{Header, render};
    use pep508_rs::{MarkerExpression, MarkerOperator, MarkerTree, MarkerValueString, PackageName, Requirement};
    use proptest::prelude::*;

    use super::*;

    /// Text built from what pip reads specially: quotes, every line break, comments, options,
    /// `${VAR}`, and plain characters.
    fn hostile() -> impl Strategy<Value = String> {
        let pieces = prop::sample::select(vec![
            "'",
            "\"",
            "\n",
            "\r",
            "\x0b",
            "\x0c",
            "\x1c",
            "\x1d",
            "\x1e",
            "\u{85}",
            "\u{2028}",
            "\u{2029}",
            " #",
            " -",
            "--index-url http://x/",
            "${HOME}",
            "\\",
            " ",
            "a",
            "1",
            ";",
        ]);
        prop::collection::vec(pieces, 0..8).prop_map(|pieces| pieces.concat())
    }

    proptest! {
        /// Whatever a marker value or a `-r` path holds, the writer's file has no line break
        /// but the ones it means, and its one requirement line reads back as the pin and its
        /// marker, with no option; or the pin is refused.
        #[test]
        fn the_writer_adds_no_line_option_or_requirement(value in hostile(), path in hostile()) {
            let marker = MarkerTree::expression(MarkerExpression::String {
                key: MarkerValueString::PlatformRelease,
                operator: MarkerOperator::Equal,
                value: value.clone(),
            });
            let helper = LockedPackage {
                name: PackageName::from_str("helper").unwrap(),
                version: "1.0".parse().unwrap(),
                marker: marker.clone(),
                required_by: BTreeSet::from([format!("-r {path}")]),
                files: Vec::new(),
                sources: Vec::new(),
            };
            let header =
                Header { command: format!("hashlock generate {path}"), target: value, indexes: vec![path], stale: vec![] };
            let Ok(text) = render(&Lock { packages: vec![helper] }, &header) else { return Ok(()) };
            let lines: Vec<&str> = text.lines().collect();
            prop_assert_eq!(text.split(LINE_BREAKS).filter(|l| !l.is_empty()).count(), lines.len(), "{}", text);
            let requirements: Vec<&str> = lines.iter().copied().filter(|l| !l.trim_start().starts_with('#')).collect();
            prop_assert_eq!(requirements.len(), 1, "{}", text);
            prop_assert!(line::requirement(requirements[0]).is_ok(), "{}", text);
            let read = Requirement::<pep508_rs::VerbatimUrl>::from_str(requirements[0]).expect("pep508 reads it");
            prop_assert_eq!(read.marker, marker);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 12, failure_persistence: None, ..ProptestConfig::default() })]

        /// Whatever an index's marker value or a requirements path holds, `generate` either
        /// fails in one line (refusing the marker, or the metadata it came in) and writes
        /// nothing, or writes a file pip reads back exactly (checked by `LockFile::read`).
        #[test]
        fn generate_writes_what_pip_reads_back_or_refuses(value in hostile(), path in hostile()) {
            let requirement = if value.contains('\'') {
                format!("helper ; platform_release == \"{}\"", value.replace('"', ""))
            } else {
                format!("helper ; platform_release == '{value}'")
            };
            let registry = Registry::new()
                .with([Release::new("demo", "1.0").requires(&[&requirement]), Release::new("helper", "1.0")]);
            let server = IndexServer::start(registry);
            let dir = tempfile::tempdir().unwrap();
            let input = dir.path().join(format!("in{}", path.replace('/', "")));
            std::fs::write(&input, "demo\n").unwrap();
            let out = dir.path().join("requirements.txt");
            let ran = generate_universal(&server.index_url(), &out, &["-r".as_ref(), input.as_os_str()]);
            match ran.code {
                0 => {
                    LockFile::read(&out);
                }
                2 => {
                    prop_assert_eq!(ran.stderr.lines().count(), 1, "{}", ran.stderr);
                    prop_assert!(!out.exists());
                }
                code => prop_assert!(false, "exit {code}: {}", ran.stderr),
            }
        }
    }
}
