//! `hashlock verify` on a download directory such as `pip download -d DIR` fills: the exact
//! files pass; a changed byte, a file no requirement covers and a requirement without a file
//! are reported; `--offline` needs no index.

mod support;

use std::path::{Path, PathBuf};

use support::{IndexServer, LockFile, Published, Ran, Registry, Release, generate};

/// [`support::layered_tree`] with a newer `tool` too.
fn tree() -> Registry {
    support::layered_tree().with([Release::new("tool", "2.0")])
}

/// What `pip download` fetches for CPython 3.11 on Linux.
const DOWNLOADED: [&str; 4] = [
    "app-1.0-py3-none-any.whl",
    "core-2.0-py3-none-any.whl",
    "lib-1.0-cp311-cp311-manylinux_2_17_x86_64.whl",
    "tool-2.0-py3-none-any.whl",
];

/// `requirements.txt` from `hashlock generate app`, and `dl/` with the downloaded files.
struct Workspace {
    server: IndexServer,
    dir: tempfile::TempDir,
}

impl Workspace {
    fn new() -> Self {
        Self::serving(tree())
    }

    fn serving(registry: Registry) -> Self {
        let server = IndexServer::start(registry);
        let dir = tempfile::tempdir().unwrap();
        generate(&server.index_url(), &["app", "-o", "requirements.txt"]).current_dir(dir.path()).assert().success();
        LockFile::read(&dir.path().join("requirements.txt"));
        std::fs::create_dir(dir.path().join("dl")).unwrap();
        let ws = Self { server, dir };
        for filename in DOWNLOADED {
            ws.download(filename);
        }
        ws
    }

    fn download(&self, filename: &str) -> PathBuf {
        let bytes = self.server.registry().file(filename).and_then(|f| f.bytes.clone()).expect("a file with bytes");
        let path = self.dir.path().join("dl").join(filename);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    /// Changes one downloaded file (one byte more), returning its new bytes.
    fn alter(&self, filename: &str) -> Vec<u8> {
        let path = self.path(&format!("dl/{filename}"));
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.push(b'\n');
        std::fs::write(&path, &bytes).unwrap();
        bytes
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    /// `hashlock verify requirements.txt ARGS... --index-url <server> --no-cache`, or
    /// `--offline` with no index at all.
    fn verify(&self, args: &[&str], offline: bool) -> Ran {
        let mut command = support::hashlock();
        command.current_dir(self.dir.path()).args(["verify", "requirements.txt"]).args(args);
        if offline {
            command.arg("--offline");
        } else {
            command.args(["--index-url", &self.server.index_url(), "--no-cache"]);
        }
        Ran::of(&mut command, &[self.dir.path()])
    }
}

/// `(code, package, location, message)` of every finding, from `--format json`.
fn findings(ran: &Ran) -> Vec<(String, String, String, String)> {
    let json = ran.json();
    assert_eq!(json["packages"].as_array().map(Vec::len), Some(0), "verify reports files, not packages");
    json["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| {
            let field = |key: &str| f[key].as_str().unwrap_or_default().to_string();
            (field("code"), field("package"), field("location"), field("message"))
        })
        .collect()
}

fn line_of(path: &Path, needle: &str) -> usize {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines().position(|l| l.contains(needle)).unwrap_or_else(|| panic!("no {needle:?} in:\n{text}")) + 1
}

#[test]
fn the_downloaded_files_pass() {
    let ws = Workspace::new();
    for offline in [false, true] {
        let ran = ws.verify(&["dl", "--format", "json"], offline);
        assert_eq!((ran.code, findings(&ran)), (0, Vec::new()), "offline {offline}: {}", ran.stderr);
        let named: Vec<String> = DOWNLOADED.iter().map(|f| format!("dl/{f}")).collect();
        let files: Vec<&str> = named.iter().map(String::as_str).collect();
        let ran = ws.verify(&files, offline);
        assert_eq!(ran.code, 0, "files named one by one, offline {offline}:\n{}{}", ran.stdout, ran.stderr);
    }
    let ran = ws.verify(&["dl"], false);
    insta::assert_snapshot!("clean_text", ran.stdout);
}

#[test]
fn one_changed_byte_is_caught_and_named() {
    let ws = Workspace::new();
    let lib = "lib-1.0-cp311-cp311-manylinux_2_17_x86_64.whl";
    ws.alter(lib);
    let location = format!("requirements.txt:{}", line_of(&ws.path("requirements.txt"), "lib==1.0"));

    let ran = ws.verify(&["dl", "--format", "json"], false);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    let found = findings(&ran);
    assert_eq!(found.len(), 1, "{found:#?}");
    let (code, package, at, message) = &found[0];
    assert_eq!((code.as_str(), package.as_str(), at), ("local-mismatch", "lib", &location));
    assert!(message.contains(lib), "names the file: {message}");
    assert!(message.contains("nor the index"), "the index disagrees too: {message}");

    let offline = ws.verify(&["dl", "--format", "json"], true);
    assert_eq!(offline.code, 1);
    let (code, _, _, message) = &findings(&offline)[0];
    assert_eq!(code, "local-mismatch");
    assert!(message.contains(lib) && !message.contains("index"), "offline asks no index: {message}");

    for format in ["text", "markdown"] {
        let ran = ws.verify(&["dl", "--format", format], false);
        assert_eq!(ran.code, 1);
        assert!(ran.stdout.contains("local-mismatch") && ran.stdout.contains(lib), "{format}:\n{}", ran.stdout);
    }
    insta::assert_snapshot!("changed_byte_text", ws.verify(&["dl"], false).stdout);
}

/// The file is intact but the requirements file lost its hash: the index vouches for the file.
#[test]
fn a_stale_requirements_file_is_told_apart_from_a_tampered_download() {
    let ws = Workspace::new();
    let requirements = ws.path("requirements.txt");
    let tool = ws.server.registry().file("tool-2.0-py3-none-any.whl").unwrap().hashes["sha256"].clone();
    let text = std::fs::read_to_string(&requirements).unwrap().replace(&tool, &"0".repeat(64));
    std::fs::write(&requirements, text).unwrap();
    let ran = ws.verify(&["dl", "--format", "json"], false);
    assert_eq!(ran.code, 1);
    let found = findings(&ran);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].0, "local-mismatch");
    assert!(found[0].3.contains("matches the index"), "{}", found[0].3);
}

/// A changed download with its requirement line edited to its new sha256: the requirements file
/// agrees, the index does not, and that is an error; a file under a name the index never listed
/// (another build) is one too. Offline there is no second opinion.
#[test]
fn an_altered_file_with_a_requirements_file_edited_to_match_is_caught() {
    let ws = Workspace::new();
    let tool = "tool-2.0-py3-none-any.whl";
    let forged = support::sha256_hex(&ws.alter(tool));
    let requirements = ws.path("requirements.txt");
    let published = ws.server.registry().file(tool).unwrap().hashes["sha256"].clone();
    let text = std::fs::read_to_string(&requirements).unwrap().replace(&published, &forged);
    std::fs::write(&requirements, text).unwrap();
    let location = format!("requirements.txt:{}", line_of(&requirements, "tool==2.0"));

    let ran = ws.verify(&["dl", "--format", "json"], false);
    assert_eq!(ran.code, 1, "{}{}", ran.stdout, ran.stderr);
    let found = findings(&ran);
    assert_eq!(found.len(), 1, "{found:#?}");
    let (code, package, at, message) = &found[0];
    assert_eq!((code.as_str(), package.as_str(), at), ("local-mismatch", "tool", &location));
    assert!(message.contains(tool) && message.contains(&forged), "{message}");
    assert!(message.contains("the requirements file agrees, but the index does not"), "{message}");

    std::fs::rename(ws.path(&format!("dl/{tool}")), ws.path("dl/tool-2.0-1-py3-none-any.whl")).unwrap();
    let found = findings(&ws.verify(&["dl", "--format", "json"], false));
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].0, "local-mismatch");
    assert!(found[0].3.contains("the index has no such file"), "{}", found[0].3);

    let offline = ws.verify(&["dl", "--format", "json"], true);
    assert_eq!((offline.code, findings(&offline)), (0, Vec::new()), "offline checks the requirements file only");
}

#[test]
fn files_and_requirements_without_a_counterpart_are_reported() {
    let ws = Workspace::new();
    std::fs::write(ws.path("dl/stray-1.0-py3-none-any.whl"), b"not from the index").unwrap();
    ws.download("tool-1.0-py3-none-any.whl");
    std::fs::remove_file(ws.path("dl/core-2.0-py3-none-any.whl")).unwrap();

    let ran = ws.verify(&["dl", "--format", "json"], false);
    assert_eq!(ran.code, 1, "warnings fail by default:\n{}{}", ran.stdout, ran.stderr);
    let mut found: Vec<(String, String)> = findings(&ran).into_iter().map(|(code, _, _, m)| (code, m)).collect();
    found.sort();
    assert_eq!(found.len(), 3, "{found:#?}");
    assert_eq!(found[0].0, "no-local-file");
    assert!(found[0].1.contains("core==2.0"), "{}", found[0].1);
    assert!(found.iter().any(|(c, m)| c == "uncovered-file" && m.contains("stray-1.0-py3-none-any.whl")), "{found:#?}");
    assert!(found.iter().any(|(c, m)| c == "uncovered-file" && m.contains("tool-1.0-py3-none-any.whl")), "{found:#?}");

    let ran = ws.verify(&["dl", "--fail-on", "error"], false);
    assert_eq!(ran.code, 0, "only warnings:\n{}", ran.stdout);
    insta::assert_snapshot!("uncovered_text", ran.stdout);
}

#[test]
fn offline_asks_no_index() {
    let ws = Workspace::new();
    ws.server.clear_log();
    drop(std::fs::remove_file(ws.path("dl/app-1.0-py3-none-any.whl")));
    let ran = ws.verify(&["dl", "--format", "json"], true);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    assert_eq!(findings(&ran).iter().map(|f| f.0.as_str()).collect::<Vec<_>>(), ["no-local-file"]);
    assert!(ws.server.log().is_empty(), "offline: {:?}", ws.server.log());

    let missing = ws.verify(&["no-such-dir"], true);
    assert_eq!(missing.code, 2);
    assert!(
        missing.stderr.contains("no-such-dir") && missing.stderr.trim_end().lines().count() == 1,
        "{}",
        missing.stderr
    );
}

/// The index publishes only sha512 for `tool` 2.0, so the requirements file carries only that:
/// verify computes it, accepts the intact file and still tells a stale file from a changed one.
#[test]
fn a_file_with_only_a_sha512_hash_is_checked_with_it() {
    let mut registry = tree();
    for file in registry.projects.get_mut("tool").unwrap().iter_mut().filter(|f| f.version == "2.0") {
        *file = file.clone().publish(Published::Sha512Only);
    }
    let ws = Workspace::serving(registry);
    let tool = "tool-2.0-py3-none-any.whl";
    let sha512 = ws.server.registry().file(tool).unwrap().hashes["sha512"].clone();
    let requirements = ws.path("requirements.txt");
    let text = std::fs::read_to_string(&requirements).unwrap();
    assert!(text.contains(&format!("--hash=sha512:{sha512}")), "{text}");
    for offline in [false, true] {
        let ran = ws.verify(&["dl", "--format", "json"], offline);
        assert_eq!((ran.code, findings(&ran)), (0, Vec::new()), "offline {offline}: {}", ran.stderr);
    }

    // The index's sha512 vouches for the file when the requirements file is stale.
    std::fs::write(&requirements, text.replace(&sha512, &"0".repeat(128))).unwrap();
    let found = findings(&ws.verify(&["dl", "--format", "json"], false));
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].0, "local-mismatch");
    assert!(found[0].3.contains(tool) && found[0].3.contains("matches the index"), "{}", found[0].3);

    // A changed byte matches neither.
    std::fs::write(&requirements, &text).unwrap();
    ws.alter(tool);
    let found = findings(&ws.verify(&["dl", "--format", "json"], false));
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].0, "local-mismatch");
    assert!(found[0].3.contains("nor the index"), "{}", found[0].3);
}
