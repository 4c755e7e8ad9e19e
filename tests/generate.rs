//! `hashlock generate` on small synthetic trees served from 127.0.0.1: what gets pinned
//! (extras, markers, requires-python, yanked and pre-releases, backtracking), that every file's
//! sha256 is there in pip's layout, conflicts, inputs from files, and the cache.

mod support;

use support::{File, IndexServer, LockFile, Registry, Release, generate, generate_for, hashlock, lock_from_stdout};

/// `c` has wheels for three platforms and an sdist: all their hashes belong in the file.
fn with_extras() -> Registry {
    Registry::new().with([
        Release::new("a", "1.0").requires(&["c>=1"]).extra("x", &["b"]),
        Release::new("b", "1.0"),
        Release::new("c", "1.0")
            .wheels(&["cp311-cp311-manylinux_2_17_x86_64", "cp311-cp311-win_amd64", "cp311-cp311-macosx_11_0_arm64"])
            .with_sdist(),
    ])
}

#[test]
fn extras_pull_in_their_dependencies_and_every_file_is_hashed() {
    let registry = with_extras();
    let server = IndexServer::start(registry.clone());

    let plain = lock_from_stdout(&mut generate(&server.index_url(), &["a"]));
    plain.assert_pins_and_hashes(&registry, &["a==1.0", "c==1.0"]);
    assert_eq!(plain.entry("c").hashes.len(), 4, "three wheels and the sdist");

    let with_x = lock_from_stdout(&mut generate(&server.index_url(), &["a[x]"]));
    with_x.assert_pins_and_hashes(&registry, &["a==1.0", "b==1.0", "c==1.0"]);
    let via = &with_x.entry("b").via;
    assert!(via.len() == 1 && via[0].starts_with('a'), "b is there because of a[x]: {via:?}");
    assert!(with_x.entry("c").via.iter().any(|v| v.starts_with('a')), "{:?}", with_x.entry("c").via);
}

#[test]
fn markers_are_evaluated_for_the_target() {
    let registry = Registry::new().with([
        Release::new("app", "1.0").requires(&[
            "winonly; sys_platform == \"win32\"",
            "linuxonly; sys_platform == \"linux\"",
            "newpy; python_version >= \"3.13\"",
            "oldpy; python_version < \"3.12\"",
        ]),
        Release::new("winonly", "1.0"),
        Release::new("linuxonly", "1.0"),
        Release::new("newpy", "1.0"),
        Release::new("oldpy", "1.0"),
    ]);
    let server = IndexServer::start(registry.clone());

    let linux = lock_from_stdout(&mut generate(&server.index_url(), &["app"]));
    linux.assert_pins_and_hashes(&registry, &["app==1.0", "linuxonly==1.0", "oldpy==1.0"]);

    let windows = lock_from_stdout(&mut generate_for(&server.index_url(), "3.13", "windows", &["app"]));
    windows.assert_pins_and_hashes(&registry, &["app==1.0", "newpy==1.0", "winonly==1.0"]);
}

#[test]
fn requires_python_excludes_versions_the_target_cannot_run() {
    let registry = Registry::new()
        .with([Release::new("p", "1.0").requires_python(">=3.8"), Release::new("p", "2.0").requires_python(">=3.12")]);
    let server = IndexServer::start(registry.clone());
    lock_from_stdout(&mut generate(&server.index_url(), &["p"])).assert_pins_and_hashes(&registry, &["p==1.0"]);
    lock_from_stdout(&mut generate_for(&server.index_url(), "3.12", "linux", &["p"]))
        .assert_pins_and_hashes(&registry, &["p==2.0"]);
}

#[test]
fn yanked_versions_are_skipped_unless_pinned_exactly() {
    let registry = Registry::new()
        .with([Release::new("y", "1.0").with_sdist(), Release::new("y", "2.0").with_sdist().yanked("broken metadata")]);
    let server = IndexServer::start(registry.clone());
    lock_from_stdout(&mut generate(&server.index_url(), &["y"])).assert_pins_and_hashes(&registry, &["y==1.0"]);
    lock_from_stdout(&mut generate(&server.index_url(), &["y==2.0"])).assert_pins_and_hashes(&registry, &["y==2.0"]);
}

#[test]
fn prereleases_only_when_asked_for() {
    let registry = Registry::new().with([
        Release::new("app", "1.0").requires(&["q"]),
        Release::new("q", "1.0"),
        Release::new("q", "2.0b1"),
    ]);
    let server = IndexServer::start(registry.clone());
    let url = server.index_url();
    lock_from_stdout(&mut generate(&url, &["app"])).assert_pins_and_hashes(&registry, &["app==1.0", "q==1.0"]);
    lock_from_stdout(&mut generate(&url, &["app", "--pre"]))
        .assert_pins_and_hashes(&registry, &["app==1.0", "q==2.0b1"]);
    lock_from_stdout(&mut generate(&url, &["app", "q>=2.0b1"]))
        .assert_pins_and_hashes(&registry, &["app==1.0", "q==2.0b1"]);
}

/// dbt-core's shape: the parser it needs has pre-releases before and after its final releases,
/// and the dependency's specifier names one (`>=2.0.0a1`).
fn prerelease_named_by_a_dependency() -> Registry {
    Registry::new().with([
        Release::new("core", "1.0").requires(&["parser>=2.0.0a1,<3", "nightly>=1.0a1,<2"]),
        Release::new("parser", "2.0.0a4"),
        Release::new("parser", "2.0.8"),
        Release::new("parser", "2.1.0a1"),
        Release::new("nightly", "0.9"),
        Release::new("nightly", "1.0a1"),
        Release::new("nightly", "1.0b2"),
    ])
}

#[test]
fn a_dependency_naming_a_prerelease_still_gets_the_newest_final_release() {
    let registry = prerelease_named_by_a_dependency();
    let server = IndexServer::start(registry.clone());
    let url = server.index_url();
    lock_from_stdout(&mut generate(&url, &["core"])).assert_pins_and_hashes(
        &registry,
        // nightly: no final release in >=1.0a1,<2, so its newest pre-release.
        &["core==1.0", "nightly==1.0b2", "parser==2.0.8"],
    );
    // The user's own specifier naming a pre-release, as a requirement or as a constraint, asks for them.
    lock_from_stdout(&mut generate(&url, &["core", "parser>=2.0.0a1"]))
        .assert_pins_and_hashes(&registry, &["core==1.0", "nightly==1.0b2", "parser==2.1.0a1"]);
    let dir = tempfile::tempdir().unwrap();
    let constraints = dir.path().join("constraints.txt");
    std::fs::write(&constraints, "parser>=2.1.0a1\n").unwrap();
    lock_from_stdout(generate(&url, &["core", "-c"]).arg(&constraints))
        .assert_pins_and_hashes(&registry, &["core==1.0", "nightly==1.0b2", "parser==2.1.0a1"]);
}

#[test]
fn a_conflict_fails_and_names_both_sides() {
    let registry = Registry::new().with([
        Release::new("alpha-app", "1.0").requires(&["gamma-core<2"]),
        Release::new("beta-lib", "1.0").requires(&["gamma-core>=2"]),
        Release::new("gamma-core", "1.0"),
        Release::new("gamma-core", "2.0"),
    ]);
    let server = IndexServer::start(registry);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.txt");
    let assert = generate(&server.index_url(), &["alpha-app", "beta-lib", "-o"]).arg(&out).assert().code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    for name in ["alpha-app", "beta-lib", "gamma-core"] {
        assert!(stderr.contains(name), "the explanation names {name}:\n{stderr}");
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!out.exists(), "no file is written when resolution fails");
}

#[test]
fn backtracks_to_an_older_version_when_the_newest_conflicts() {
    let registry = Registry::new().with([
        Release::new("app", "1.0").requires(&["lib>=1"]),
        Release::new("app", "2.0").requires(&["lib>=2"]),
        Release::new("tool", "1.0").requires(&["lib<2"]),
        Release::new("lib", "1.0"),
        Release::new("lib", "2.0"),
    ]);
    let server = IndexServer::start(registry.clone());
    lock_from_stdout(&mut generate(&server.index_url(), &["app", "tool"]))
        .assert_pins_and_hashes(&registry, &["app==1.0", "lib==1.0", "tool==1.0"]);
}

#[test]
fn writes_the_same_requirements_to_a_file_as_to_stdout_with_a_header() {
    let registry = with_extras();
    let server = IndexServer::start(registry.clone());
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("requirements.txt");
    std::fs::write(&out, "old contents\n").unwrap();

    let print = || generate(&server.index_url(), &["a[x]"]).assert().success().get_output().stdout.clone();
    let printed = print();
    assert_eq!(printed, print(), "the same inputs and index give the same bytes");
    let written = generate(&server.index_url(), &["a[x]", "-o"]).arg(&out).assert().success().get_output().clone();
    assert!(written.stdout.is_empty(), "with -o nothing goes to stdout");
    let file = std::fs::read_to_string(&out).unwrap();
    let (printed, file) = (LockFile::parse(&String::from_utf8(printed).unwrap()), LockFile::parse(&file));
    assert_eq!(printed.entries, file.entries);
    assert_eq!(file.header.len(), 2, "{:?}", file.header);
    assert!(file.header[0].starts_with("# This file was generated by hashlock "), "{}", file.header[0]);
    assert!(file.header[0].contains(" 'a[x]' -o "), "{}", file.header[0]);
    assert!(!file.header[0].contains("--no-cache"), "cache flags stay out of the header: {}", file.header[0]);
    assert!(file.header[1].starts_with("# Target: CPython 3.11, linux"), "{}", file.header[1]);
    assert!(file.header[1].ends_with(&format!("Index: {}", server.index_url())), "{}", file.header[1]);
}

#[test]
fn reads_requirement_and_constraint_files() {
    let registry = Registry::new().with([
        Release::new("app", "1.0").requires(&["helper"]),
        Release::new("helper", "1.0"),
        Release::new("helper", "2.0"),
        Release::new("unrelated", "1.0"),
    ]);
    let server = IndexServer::start(registry.clone());
    let dir = tempfile::tempdir().unwrap();
    let requirements = dir.path().join("requirements.in");
    std::fs::write(&requirements, "# what we run\napp \\\n  >=1.0  # the app\n\n").unwrap();
    let constraints = dir.path().join("constraints.txt");
    std::fs::write(&constraints, "helper<2\nunrelated==1.0\n").unwrap();
    let lock = lock_from_stdout(generate(&server.index_url(), &["-r"]).arg(&requirements).arg("-c").arg(&constraints));
    lock.assert_pins_and_hashes(&registry, &["app==1.0", "helper==1.0"]);
}

/// As pip: a requirements file's extra index adds to those of the environment.
#[test]
fn extra_indexes_from_a_file_add_to_the_environments() {
    let primary = IndexServer::start(Registry::new().with([Release::new("app", "1.0").requires(&["b", "c"])]));
    let from_env = IndexServer::start(Registry::new().with([Release::new("b", "1.0")]));
    let from_file = IndexServer::start(Registry::new().with([Release::new("c", "1.0")]));
    let dir = tempfile::tempdir().unwrap();
    let requirements = dir.path().join("requirements.in");
    std::fs::write(&requirements, format!("--extra-index-url {}\napp\n", from_file.index_url())).unwrap();
    let lock = lock_from_stdout(
        generate(&primary.index_url(), &["-r"]).arg(&requirements).env("PIP_EXTRA_INDEX_URL", from_env.index_url()),
    );
    let pins: Vec<String> = lock.pins().into_iter().map(|(name, version)| format!("{name}=={version}")).collect();
    assert_eq!(pins, ["app==1.0", "b==1.0", "c==1.0"]);
}

#[test]
fn the_cache_serves_offline_runs_and_refresh_sees_new_uploads() {
    let registry = with_extras();
    let server = IndexServer::start(registry.clone());
    let cache = tempfile::tempdir().unwrap();
    let run = |flags: &[&str]| {
        let mut command = hashlock();
        command.args(["generate", "a[x]", "--index-url", &server.index_url(), "--python-version", "3.11"]);
        command.args(["--python-platform", "linux", "--cache-dir"]).arg(cache.path()).args(flags);
        lock_from_stdout(&mut command)
    };
    let first = run(&[]);
    first.assert_pins_and_hashes(&registry, &["a==1.0", "b==1.0", "c==1.0"]);

    server.clear_log();
    let offline = run(&["--offline"]);
    assert_eq!(offline.entries, first.entries);
    assert!(server.log().is_empty(), "--offline made requests: {:#?}", server.log());

    // A wheel uploaded later: --refresh fetches the pages again and its hash appears.
    let late = File::new("b-1.0-py2-none-any.whl", "1.0", b"a late upload".to_vec());
    server.add_file("b", late);
    let refreshed = run(&["--refresh"]);
    refreshed.assert_pins_and_hashes(&server.registry(), &["a==1.0", "b==1.0", "c==1.0"]);
    assert_eq!(refreshed.entry("b").hashes.len(), 2);
}

/// Tokens in the user part of an index URL (`TOKEN:@`, `TOKEN:x-oauth-basic@`, as some hosted
/// indexes document them) are never written or printed: not in the header, not with
/// `--verbose`, not in an error.
#[test]
fn tokens_in_index_urls_never_reach_the_file_or_the_terminal() {
    let server = IndexServer::start(Registry::new().with([Release::new("widget", "1.0")]));
    let dir = tempfile::tempdir().unwrap();
    for userinfo in ["TOKEN_SECRET:", "TOKEN_SECRET:x-oauth-basic", "user:TOKEN_SECRET", "TOKEN_SECRET"] {
        let url = server.index_url().replace("http://", &format!("http://{userinfo}@"));
        for (args, code) in [(&["widget", "-v", "-o", "out.txt"][..], 0), (&["no-such-package", "-v"][..], 2)] {
            let _ = std::fs::remove_file(dir.path().join("out.txt"));
            let mut command = generate(&url, args);
            let output = command.current_dir(dir.path()).output().unwrap();
            assert_eq!(output.status.code(), Some(code), "{userinfo} {args:?}");
            let file = std::fs::read_to_string(dir.path().join("out.txt")).unwrap_or_default();
            let printed =
                format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
            assert!(
                !printed.contains("TOKEN_SECRET") && !file.contains("TOKEN_SECRET"),
                "{userinfo}:\n{printed}\n{file}"
            );
            assert!(printed.contains("***@") || file.contains("Index: http://***@"), "{userinfo}:\n{printed}\n{file}");
        }
    }
}
