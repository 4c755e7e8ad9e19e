//! Bad input and broken indexes: exit status 2, one line on stderr naming the package, the
//! file and line, or the URL, no panic, and no output file written — an existing one is left
//! exactly as it was.

mod support;

use std::path::Path;

use support::{Fail, IndexServer, Registry, Release, generate};

fn index() -> IndexServer {
    IndexServer::start(Registry::new().with([Release::new("widget", "1.0"), Release::new("widget", "1.1")]))
}

/// Runs `generate --index-url URL ... ARGS -o out.txt` in a fresh directory twice, without and
/// with an existing out.txt, and checks the failure both times. `extra` adds flags.
fn assert_fails(index_url: &str, args: &[&str], extra: &[&str], setup: impl Fn(&Path), needles: &[&str]) {
    for existing in [None, Some("# an older lock\nwidget==1.0 \\\n    --hash=sha256:00\n")] {
        let dir = tempfile::tempdir().unwrap();
        setup(dir.path());
        let out = dir.path().join("out.txt");
        if let Some(text) = existing {
            std::fs::write(&out, text).unwrap();
        }
        let mut command = generate(index_url, args);
        command.current_dir(dir.path()).args(extra).args(["-o", "out.txt"]);
        let assert = command.assert().code(2);
        let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
        let what = format!("generate {args:?}: stderr was:\n{stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {what}");
        assert!(!stderr.contains("panicked"), "{what}");
        for needle in needles {
            assert!(stderr.contains(needle), "names {needle:?}: {what}");
        }
        match existing {
            None => assert!(!out.exists(), "out.txt created: {what}"),
            Some(text) => assert_eq!(std::fs::read_to_string(&out).unwrap(), text, "out.txt changed: {what}"),
        }
        assert!(assert.get_output().stdout.is_empty(), "{what}");
    }
}

fn no_setup(_: &Path) {}

#[test]
fn unknown_package() {
    let server = index();
    assert_fails(&server.index_url(), &["no-such-package"], &[], no_setup, &["no-such-package"]);
}

#[test]
fn no_version_satisfies() {
    let server = index();
    assert_fails(&server.index_url(), &["widget>=99"], &[], no_setup, &["widget"]);
}

#[test]
fn malformed_specifier() {
    let server = index();
    assert_fails(&server.index_url(), &["widget>=>1"], &[], no_setup, &["widget>=>1"]);
    assert!(server.log().is_empty(), "nothing is fetched for a command line that does not parse");
}

#[test]
fn unreadable_requirements_file() {
    let server = index();
    assert_fails(&server.index_url(), &["-r", "missing.in"], &[], no_setup, &["missing.in"]);
}

#[test]
fn malformed_requirements_file_names_file_and_line() {
    let server = index();
    let write = |dir: &Path| std::fs::write(dir.join("reqs.in"), "# ok so far\nwidget>=>1\n").unwrap();
    assert_fails(&server.index_url(), &["-r", "reqs.in"], &[], write, &["reqs.in:2"]);
}

#[test]
fn index_down() {
    // A port nothing listens on: bind one, then let it go.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/simple");
    assert_fails(&url, &["widget"], &["--timeout", "2"], no_setup, &[&format!("127.0.0.1:{port}")]);
}

#[test]
fn index_returns_garbage_json() {
    let server = index();
    server.set_fail(Some(Fail::GarbageJson));
    let page = format!("{}/widget", server.index_url());
    assert_fails(&server.index_url(), &["widget"], &["--timeout", "2"], no_setup, &[&page]);
}

#[test]
fn index_returns_server_errors() {
    let server = index();
    server.set_fail(Some(Fail::ServerError));
    let page = format!("{}/widget", server.index_url());
    assert_fails(&server.index_url(), &["widget"], &["--timeout", "2"], no_setup, &[&page, "500"]);
}

#[test]
fn an_unwritable_output_writes_no_report_either() {
    let server = index();
    let dir = tempfile::tempdir().unwrap();
    let assert = generate(&server.index_url(), &["widget", "--report", "report.json", "-o", "missing/out.txt"])
        .current_dir(dir.path())
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("missing/out.txt") && !stderr.contains(".tmp"), "{stderr}");
    assert!(!dir.path().join("report.json").exists(), "a report was written for a run that failed");
}

/// hashlock resolves from an index: a file meant for local files only is refused by generate
/// (audit reports these as findings).
#[test]
fn local_only_options_in_a_requirements_file() {
    let server = index();
    for line in ["--no-index", "-f ./wheels", "--find-links=./wheels", "--find ./wheels"] {
        let setup = |dir: &Path| std::fs::write(dir.join("req.txt"), format!("widget\n{line}\n")).unwrap();
        assert_fails(&server.index_url(), &["-r", "req.txt"], &[], setup, &["req.txt:2: --", "is not supported"]);
    }
}

#[test]
fn file_text_in_an_error_is_escaped() {
    let server = index();
    // Terminal escapes from a file would clear the screen or forge a line in a CI log.
    let write = |dir: &Path| std::fs::write(dir.join("reqs.in"), "widget>=>1 \x1b[2J\x1b[32mAll clear\n").unwrap();
    assert_fails(&server.index_url(), &["-r", "reqs.in"], &[], write, &["reqs.in:1", r"\x1b[2J\x1b[32mAll clear"]);
    let dir = tempfile::tempdir().unwrap();
    write(dir.path());
    let out = generate(&server.index_url(), &["-r", "reqs.in"]).current_dir(dir.path()).output().unwrap();
    assert!(!out.stderr.contains(&0x1b), "{}", String::from_utf8_lossy(&out.stderr));
}
