//! Where the users are: `--color`, several lockfiles in one audit (as pre-commit passes them),
//! `generate-check`, and (opt-in, as they build hashlock in release with maturin: minutes)
//! `pip install` of the Python package into a fresh virtualenv and `pre-commit try-repo`.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use support::{IndexServer, Ran, generate, hashlock, hashlock_at};

/// A directory with `requirements.txt` as generated for the layered tree, and the server.
fn generated() -> (IndexServer, tempfile::TempDir, String) {
    let server = IndexServer::start(support::layered_tree());
    let dir = tempfile::tempdir().unwrap();
    generate(&server.index_url(), &["app", "-o", "requirements.txt"]).current_dir(dir.path()).assert().success();
    let text = std::fs::read_to_string(dir.path().join("requirements.txt")).unwrap();
    (server, dir, text)
}

/// `text` with the first `--hash` digest's first hex digit changed.
fn tampered(text: &str) -> String {
    let at = text.find("--hash=sha256:").unwrap() + "--hash=sha256:".len();
    let digit = if &text[at..=at] == "0" { "1" } else { "0" };
    format!("{}{digit}{}", &text[..at], &text[at + 1..])
}

const ESC: char = '\x1b';

#[test]
fn color_always_colours_a_pipe_never_and_auto_do_not() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("requirements.txt"), "tool>=1\n").unwrap();
    let audit = |args: &[&str], no_color: Option<&str>| {
        let mut command = hashlock_at("audit", "http://127.0.0.1:9/simple", &["requirements.txt"]);
        command.args(args).current_dir(dir.path()).env_remove("NO_COLOR");
        if let Some(value) = no_color {
            command.env("NO_COLOR", value);
        }
        Ran::of(&mut command, &[])
    };
    let always = audit(&["--color", "always"], None);
    assert_eq!(always.code, 1, "{}", always.stderr);
    assert!(always.stdout.contains("\x1b[1;31m[unpinned]\x1b[0m"), "{:?}", always.stdout);
    assert!(audit(&["--color=always"], Some("1")).stdout.contains(ESC), "an explicit flag beats NO_COLOR");
    for (args, no_color) in [(&["--color", "never"][..], None), (&[][..], None), (&["--color", "auto"][..], Some("1"))]
    {
        let ran = audit(args, no_color);
        assert_eq!(ran.code, 1);
        assert!(!ran.stdout.contains(ESC), "{args:?}: {:?}", ran.stdout);
    }
    let json = audit(&["--color", "always", "--format", "json"], None);
    assert!(!json.stdout.contains(ESC), "only the text form has colours");

    let error = hashlock().args(["--color", "always", "generate"]).output().unwrap();
    assert!(String::from_utf8_lossy(&error.stderr).starts_with("hashlock: \x1b[1;31merror:\x1b[0m"));
    let help = |when: &str| hashlock().args(["--color", when, "--help"]).output().unwrap().stdout;
    assert!(help("always").contains(&0x1b) && !help("never").contains(&0x1b), "clap's help follows --color");
}

#[test]
fn audit_takes_several_lockfiles_and_fails_if_one_has_findings() {
    let (server, dir, text) = generated();
    std::fs::create_dir(dir.path().join("dev")).unwrap();
    std::fs::write(dir.path().join("dev/requirements.txt"), tampered(&text)).unwrap();
    let audit = |args: &[&str]| {
        let mut command = hashlock_at("audit", &server.index_url(), args);
        Ran::of(command.current_dir(dir.path()), &[dir.path()])
    };
    let both = audit(&["requirements.txt", "dev/requirements.txt"]);
    assert_eq!(both.code, 1, "{}", both.stderr);
    let clean = both.stdout.find("==> requirements.txt <==").expect("each report names its file");
    let dirty = both.stdout.find("==> dev/requirements.txt <==").expect("each report names its file");
    assert!(clean < dirty && both.stdout[dirty..].contains("[hash-mismatch]"), "{}", both.stdout);
    assert!(!both.stdout[..dirty].contains("[hash-mismatch]"), "{}", both.stdout);
    assert_eq!(audit(&["requirements.txt", "requirements.txt"]).code, 0);

    let sarif = audit(&["requirements.txt", "dev/requirements.txt", "--format", "sarif"]);
    let value: serde_json::Value = serde_json::from_str(&sarif.stdout).unwrap();
    assert_eq!(value["runs"].as_array().unwrap().len(), 1, "one run, as code scanning wants per tool");
    let uris: Vec<&str> = value["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str().unwrap())
        .collect();
    assert!(!uris.is_empty() && uris.iter().all(|uri| *uri == "dev/requirements.txt"), "{uris:?}");

    let json = audit(&["requirements.txt", "dev/requirements.txt", "--format", "json"]);
    assert_eq!((json.code, json.stdout.as_str()), (2, ""), "JSON reports on one file: {}", json.stderr);
    assert_eq!(json.stderr.lines().count(), 1, "{}", json.stderr);
    let missing = audit(&["requirements.txt", "gone.txt"]);
    assert_eq!((missing.code, missing.stdout.as_str()), (2, ""), "no partial output: {}", missing.stderr);
}

#[test]
fn generate_check_fails_when_an_input_changes_without_its_lock() {
    let dir = tempfile::tempdir().unwrap();
    for file in ["requirements.in", "requirements.txt", "requirements-dev.in"] {
        std::fs::write(dir.path().join(file), "tool\n").unwrap();
    }
    let check = |files: &[&str]| {
        let out = hashlock().arg("generate-check").args(files).current_dir(dir.path()).output().unwrap();
        (out.status.code().unwrap(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    assert_eq!(check(&["requirements.in", "requirements.txt"]), (0, String::new()));
    assert_eq!(check(&["requirements.txt"]).0, 0, "a lock may change alone");
    assert_eq!(check(&[]).0, 0);
    let (code, stderr) = check(&["requirements.in"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("requirements.in changed but requirements.txt was not regenerated"), "{stderr}");
    let (code, stderr) = check(&["requirements-dev.in", "requirements.in", "requirements.txt"]);
    assert_eq!(code, 1);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("requirements-dev.in has no locked file requirements-dev.txt"), "{stderr}");
}

/// The checkout's tracked and new files (not target/), copied into a fresh git repository
/// with one commit: a clean clone of the working tree, whose revision stays put.
fn clean_clone() -> tempfile::TempDir {
    let source = Path::new(env!("CARGO_MANIFEST_DIR"));
    let listed = Command::new("git")
        .args(["ls-files", "-z", "--cached", "--others", "--exclude-standard"])
        .current_dir(source)
        .output()
        .expect("git");
    let dir = tempfile::tempdir().unwrap();
    for name in listed.stdout.split(|b| *b == 0).filter(|n| !n.is_empty()) {
        let name = Path::new(std::str::from_utf8(name).unwrap());
        if source.join(name).is_file() {
            std::fs::create_dir_all(dir.path().join(name).parent().unwrap()).unwrap();
            std::fs::copy(source.join(name), dir.path().join(name)).unwrap();
        }
    }
    let git = |args: &[&str]| {
        let ok = Command::new("git")
            .args(["-c", "user.name=hashlock tests", "-c", "user.email=tests@localhost"])
            .args(args)
            .current_dir(dir.path())
            .status()
            .unwrap();
        assert!(ok.success(), "git {args:?}");
    };
    git(&["init", "-q"]);
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "snapshot"]);
    dir
}

/// A command that reaches the package index through the machine's pip configuration (to
/// install maturin or pre-commit); cargo reuses this checkout's target/ so that only hashlock
/// itself is compiled again.
fn with_index(command: &mut Command) -> &mut Command {
    command.env_remove("PIP_FIND_LINKS").env("CARGO_TARGET_DIR", target_dir())
}

fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).parent().unwrap().to_path_buf()
}

fn venv(at: &Path) -> PathBuf {
    let made = Command::new("python3").args(["-m", "venv"]).arg(at).status().expect("python3");
    assert!(made.success(), "python3 -m venv");
    at.join("bin")
}

fn succeeds(command: &mut Command) -> String {
    let out = command.output().expect("runs");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{command:?} failed:\n{text}");
    text
}

#[test]
#[ignore = "builds hashlock in release with maturin and needs the package index: minutes"]
fn pip_install_of_a_clean_clone_gives_a_working_hashlock() {
    let clone = clean_clone();
    let home = tempfile::tempdir().unwrap();
    let bin = venv(&home.path().join("v"));
    let started = Instant::now();
    succeeds(with_index(
        Command::new(bin.join("pip")).args(["install", "-q", "--disable-pip-version-check"]).arg(clone.path()),
    ));
    eprintln!("pip install . took {:.0?}", started.elapsed());
    let version = succeeds(Command::new(bin.join("hashlock")).arg("--version"));
    assert_eq!(version.trim(), format!("hashlock {}", env!("CARGO_PKG_VERSION")), "the version is Cargo.toml's");
}

#[test]
#[ignore = "pre-commit builds hashlock in release with maturin, for each try-repo: minutes"]
fn pre_commit_try_repo_passes_a_good_lockfile_and_fails_a_tampered_one() {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let tools = tmp.join("pre-commit-venv");
    if !tools.join("bin/pre-commit").exists() {
        let bin = venv(&tools);
        succeeds(with_index(Command::new(bin.join("pip")).args(["install", "-q", "pre-commit"])));
    }
    // try-repo installs the hook into a store of its own each time, so pip builds hashlock then:
    // its build backend comes from a local directory, and everything else from the loopback
    // index, which is also the index hashlock audits against (pip's settings give it).
    let wheels = tmp.join("maturin-wheels");
    if !std::fs::read_dir(&wheels).is_ok_and(|mut entries| entries.next().is_some()) {
        let pip = tools.join("bin/pip");
        succeeds(with_index(
            Command::new(pip)
                .args(["download", "-q", "--only-binary", ":all:", "-d"])
                .arg(&wheels)
                .arg("maturin>=1.9,<2"),
        ));
    }
    let hooks = clean_clone();
    let (server, project, text) = generated();
    succeeds(Command::new("git").args(["init", "-q"]).current_dir(project.path()));
    let try_repo = |file: &str| {
        let mut command = Command::new(tools.join("bin/pre-commit"));
        command.args(["try-repo"]).arg(hooks.path()).args(["hashlock-audit", "--files", file]);
        support::without_pip_settings(command.current_dir(project.path()))
            .env("PIP_INDEX_URL", server.index_url())
            .env("PIP_FIND_LINKS", &wheels)
            .env("CARGO_TARGET_DIR", target_dir());
        let started = Instant::now();
        let out = command.output().unwrap();
        eprintln!("pre-commit try-repo on {file} took {:.0?}", started.elapsed());
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let (code, output) = try_repo("requirements.txt");
    assert_eq!(code, Some(0), "{output}");
    assert!(output.contains("hashlock audit") && output.contains("Passed"), "{output}");
    std::fs::write(project.path().join("requirements.txt"), tampered(&text)).unwrap();
    let (code, output) = try_repo("requirements.txt");
    assert_eq!(code, Some(1), "{output}");
    assert!(output.contains("Failed") && output.contains("hash-mismatch"), "{output}");
}

const SUBCOMMANDS: [&str; 9] =
    ["generate", "report", "audit", "export", "verify", "cache", "generate-check", "completions", "man"];

#[test]
fn completions_offer_every_subcommand_in_every_shell() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = hashlock().args(["completions", shell]).output().unwrap();
        assert!(out.status.success(), "{shell}");
        let script = String::from_utf8(out.stdout).unwrap();
        for word in SUBCOMMANDS.iter().chain(&["index-url", "fail-on", "lock-format"]) {
            assert!(script.contains(word), "{shell} completion lacks {word}");
        }
    }
    assert!(!hashlock().args(["completions", "tcsh"]).output().unwrap().status.success());

    // bash, given the script, completes a subcommand and a --format value as a user would.
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("hashlock.bash");
    std::fs::write(&script, hashlock().args(["completions", "bash"]).output().unwrap().stdout).unwrap();
    let complete = |words: &str| {
        let probe = format!(
            "source {}; COMP_WORDS=({words}); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); COMP_LINE='{words}'; _hashlock hashlock \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            script.display()
        );
        let out = Command::new("bash").args(["--norc", "-c", &probe]).output().expect("bash");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap().lines().map(str::to_string).collect::<Vec<_>>()
    };
    assert_eq!(complete("hashlock aud"), ["audit"]);
    let formats = complete("hashlock audit requirements.txt --format ''");
    for format in ["text", "json", "markdown", "sarif"] {
        assert!(formats.iter().any(|f| f == format), "{formats:?}");
    }
}

#[test]
fn the_man_page_renders_and_lists_the_subcommands() {
    let out = hashlock().arg("man").output().unwrap();
    assert!(out.status.success());
    let page = String::from_utf8(out.stdout).unwrap();
    assert!(page.contains(&format!(".TH hashlock 1  \"hashlock {}\"", env!("CARGO_PKG_VERSION"))), "{page}");
    // Rendered by groff where it is installed, with its warnings on: none may appear.
    let Ok(mut groff) = Command::new("groff")
        .args(["-man", "-Tutf8", "-ww", "-z"])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
    else {
        eprintln!("skipping the man page's rendering: no groff");
        return;
    };
    use std::io::Write;
    groff.stdin.take().unwrap().write_all(page.as_bytes()).unwrap();
    let rendered = groff.wait_with_output().unwrap();
    assert!(rendered.status.success() && rendered.stderr.is_empty(), "{}", String::from_utf8_lossy(&rendered.stderr));
    for subcommand in SUBCOMMANDS {
        assert!(page.contains(&format!("hashlock\\-{}", subcommand.replace('-', "\\-"))), "{subcommand}");
    }
}
