//! `hashlock generate -r pyproject.toml`: a project's `[project] dependencies` as the root
//! requirements, with the extras (`--extra`, `--all-extras`) and PEP 735 dependency groups
//! (`--group`) asked for, against a loopback index; the mistakes it names by file and line; and
//! a project whose dependencies are dynamic, built for its metadata with an in-tree backend.

mod support;

use std::path::Path;

use support::build::backend_wheel;
use support::{File, IndexServer, Registry, Release, generate, lock_from_stdout, stable_ports};

const PROJECT: &str = r#"[project]
name = "My_Proj"
version = "0.1"
dependencies = ["app", "winonly; sys_platform == 'win32'"]

[project.optional-dependencies]
Socks = ["socksy"]
all = ["my-proj[socks]", "extra-tool"]

[dependency-groups]
Dev = ["pytest", {include-group = "lint"}]
lint = ["ruff"]
"#;

fn registry() -> Registry {
    Registry::new().with([
        Release::new("app", "1.0").requires(&["lib"]),
        Release::new("lib", "1.0"),
        Release::new("winonly", "1.0"),
        Release::new("socksy", "1.0"),
        Release::new("extra-tool", "1.0"),
        Release::new("pytest", "8.0"),
        Release::new("ruff", "0.5"),
        // Self-references name the project, which must never be looked up on the index.
        Release::new("my-proj", "9.0").requires(&["lib"]),
    ])
}

/// A project directory holding `pyproject.toml` (and `files`).
fn project(pyproject: &str, files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pyproject.toml"), pyproject).unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

/// `generate -r pyproject.toml ARGS` run in `dir`, so that origins read `-r pyproject.toml`.
fn generate_in(dir: &Path, server: &IndexServer, args: &[&str]) -> assert_cmd::Command {
    let mut command = generate(&server.index_url(), &[&["-r", "pyproject.toml"], args].concat());
    command.current_dir(dir);
    command
}

fn stderr_of(command: &mut assert_cmd::Command) -> String {
    let out = command.assert().code(2).get_output().clone();
    assert!(out.stdout.is_empty(), "no output on an error");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn dependencies_alone_come_from_the_project_table() {
    let (registry, dir) = (registry(), project(PROJECT, &[]));
    let server = IndexServer::start(registry.clone());
    let lock = lock_from_stdout(&mut generate_in(dir.path(), &server, &[]));
    lock.assert_pins_and_hashes(&registry, &["app==1.0", "lib==1.0"]);
    assert_eq!(lock.entry("app").via, ["-r pyproject.toml"]);
    assert_eq!(lock.entry("lib").via, ["app"]);
}

#[test]
fn extras_and_groups_add_theirs_with_self_references_and_includes_expanded() {
    let (registry, dir) = (registry(), project(PROJECT, &[]));
    let server = IndexServer::start(registry.clone());
    let socks = lock_from_stdout(&mut generate_in(dir.path(), &server, &["--extra", "SOCKS"]));
    socks.assert_pins_and_hashes(&registry, &["app==1.0", "lib==1.0", "socksy==1.0"]);
    assert_eq!(socks.entry("socksy").via, ["-r pyproject.toml"]);

    // `all` names `my-proj[socks]`: socksy comes through the project's own extra.
    let all = ["app==1.0", "extra-tool==1.0", "lib==1.0", "socksy==1.0"];
    lock_from_stdout(&mut generate_in(dir.path(), &server, &["--extra", "all"]))
        .assert_pins_and_hashes(&registry, &all);
    lock_from_stdout(&mut generate_in(dir.path(), &server, &["--all-extras"])).assert_pins_and_hashes(&registry, &all);

    let dev = lock_from_stdout(&mut generate_in(dir.path(), &server, &["--group", "dev", "--extra", "socks"]));
    dev.assert_pins_and_hashes(&registry, &["app==1.0", "lib==1.0", "pytest==8.0", "ruff==0.5", "socksy==1.0"]);
    insta::assert_snapshot!(stable_ports(&dev.summary()));
    assert!(server.requests("/simple/my-proj/") == 0, "the project itself is never looked up");

    let windows = support::generate_for(
        &server.index_url(),
        "3.11",
        "windows",
        &["-r", &dir.path().join("pyproject.toml").display().to_string()],
    )
    .assert()
    .success()
    .get_output()
    .stdout
    .clone();
    let windows = support::LockFile::parse(&String::from_utf8(windows).unwrap());
    windows.assert_pins_and_hashes(&registry, &["app==1.0", "lib==1.0", "winonly==1.0"]);
    let via = &windows.entry("winonly").via;
    assert!(via.len() == 1 && via[0].starts_with("-r /") && via[0].ends_with("/pyproject.toml"), "{via:?}");
}

#[test]
fn names_the_project_does_not_declare_are_errors_naming_the_file() {
    let (registry, dir) = (registry(), project(PROJECT, &[]));
    let server = IndexServer::start(registry);
    let cases: [(&[&str], &str); 4] = [
        (&["--extra", "nope"], "hashlock: error: pyproject.toml: no extra `nope` in [project.optional-dependencies]\n"),
        (&["--group", "nope"], "hashlock: error: pyproject.toml: no dependency group `nope` in [dependency-groups]\n"),
        (
            &["--extra", "lint"],
            "hashlock: error: pyproject.toml: no extra `lint` in [project.optional-dependencies]; `lint` is a dependency group: --group lint\n",
        ),
        (
            &["--group", "Socks"],
            "hashlock: error: pyproject.toml: no dependency group `socks` in [dependency-groups]; `socks` is an extra: --extra socks\n",
        ),
    ];
    for (args, expected) in cases {
        assert_eq!(stderr_of(&mut generate_in(dir.path(), &server, args)), expected, "{args:?}");
    }
    let stderr = stderr_of(&mut generate(&server.index_url(), &["app", "--extra", "socks"]));
    assert!(stderr.contains("--extra, --all-extras and --group select from a project's pyproject.toml"), "{stderr}");
    assert!(server.log().is_empty(), "nothing resolved: {:#?}", server.log());
}

#[test]
fn a_malformed_file_is_one_line_naming_the_file_and_line() {
    let server = IndexServer::start(registry());
    let cases = [
        (
            "[project]\nname = \"p\"\ndependencies = [\n  \"app\",\n  \"lib >>= 1\",\n]\n",
            "pyproject.toml:5: invalid requirement `lib >>= 1`",
        ),
        ("[project]\nname = \"p\"\ndependencies = [\"app\"\n", "pyproject.toml:3: invalid TOML: "),
        (
            "[project]\nname = \"p\"\n\n[dependency-groups]\na = [{include-group = \"b\"}]\nb = [\"ruff\", {include-group = \"A\"}]\n",
            "pyproject.toml:6: dependency groups include each other: a -> b -> a",
        ),
        (
            "[project]\nname = \"p\"\n\n[dependency-groups]\na = [\"ruff\", {include-group = \"missing\"}]\n",
            "pyproject.toml:5: dependency group `a` includes `missing`, which is not declared",
        ),
    ];
    for (text, expected) in cases {
        let dir = project(text, &[]);
        let stderr = stderr_of(&mut generate_in(dir.path(), &server, &[]));
        assert!(stderr.starts_with(&format!("hashlock: error: {expected}")), "{text}\n{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
}

/// A project that leaves its dependencies to `tinybackend` (from the index), which reads them
/// from `deps.txt`; its dependency group comes from the file.
fn dynamic_project() -> (Registry, tempfile::TempDir) {
    let mut registry = Registry::new().with([Release::new("leaf", "1.0"), Release::new("pytest", "8.0")]);
    registry.add("tinybackend", File::built(backend_wheel(), "1.0"));
    let pyproject = "[project]\nname = \"dyn\"\nversion = \"0.1\"\ndynamic = [\"dependencies\"]\n\n\
        [dependency-groups]\ntest = [\"pytest\"]\n\n\
        [build-system]\nrequires = [\"tinybackend\"]\nbuild-backend = \"tinybackend\"\n";
    let dir = project(pyproject, &[("tiny.cfg", "dyn 0.1\n"), ("deps.txt", "leaf>=1\n")]);
    (registry, dir)
}

#[test]
fn dynamic_dependencies_are_built_for_their_metadata() {
    let (registry, dir) = dynamic_project();
    let server = IndexServer::start(registry.clone());
    let lock = lock_from_stdout(&mut generate_in(dir.path(), &server, &["--group", "test"]));
    lock.assert_pins_and_hashes(&registry, &["leaf==1.0", "pytest==8.0"]);
    assert_eq!(lock.entry("leaf").via, ["-r pyproject.toml"]);
    assert!(
        server.log().iter().any(|l| l.path == "/files/tinybackend-1.0-py3-none-any.whl" && l.status == 200),
        "the backend was installed from the index: {:#?}",
        server.log()
    );
}

#[test]
fn no_build_refuses_a_project_whose_dependencies_only_a_build_tells() {
    let (registry, dir) = dynamic_project();
    let server = IndexServer::start(registry);
    let stderr = stderr_of(&mut generate_in(dir.path(), &server, &["--no-build"]));
    assert_eq!(
        stderr,
        "hashlock: error: pyproject.toml: only a build tells its dependencies ([project] dynamic, or no [project] table): --no-build forbids building it\n"
    );
}
