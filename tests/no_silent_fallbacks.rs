//! No silent fallbacks: a version whose metadata cannot be had stops the run; versions left out
//! on purpose are named (`--verbose`), a root older than its newest release says why, and a
//! conflict reads in a few lines over the versions the index has.

mod support;

use support::{IndexServer, Ran, Registry, Release, generate};

/// `1.0` to `1.99`.
fn hundred() -> impl Iterator<Item = String> {
    (0..100).map(|minor| format!("1.{minor}"))
}

/// `generate` with `--no-build`: the versions that need a build are then excluded on purpose.
fn run(server: &IndexServer, args: &[&str]) -> Ran {
    Ran::of(generate(&server.index_url(), args).arg("--no-build"), &[])
}

fn notes(ran: &Ran) -> Vec<&str> {
    ran.stderr.lines().filter(|l| l.starts_with("hashlock: note: ")).collect()
}

#[test]
fn unreadable_metadata_fails_naming_the_newest_version() {
    let mut registry = Registry::new();
    for version in hundred() {
        for mut file in Release::new("lib", &version).files() {
            // Served as its PEP 658 file, with a matching hash: readable bytes, invalid metadata.
            file.metadata =
                Some(format!("Metadata-Version: 2.1\nName: lib\nVersion: {version}\nRequires-Dist: !!\n").into());
            registry.add("lib", file);
        }
    }
    let server = IndexServer::start(registry);
    let ran = run(&server, &["lib"]);
    assert_eq!(ran.code, 2, "{}{}", ran.stdout, ran.stderr);
    assert!(ran.stdout.is_empty(), "nothing written: {}", ran.stdout);
    let line = ran.stderr.trim_end();
    assert_eq!(line.lines().count(), 1, "{line}");
    assert!(line.starts_with("hashlock: error: lib 1.99: cannot use its metadata: "), "{line}");
    assert!(line.contains("invalid metadata") && line.contains("Requires-Dist `!!`"), "{line}");
    let metadata_reads = server.log().iter().filter(|l| l.path.ends_with(".metadata")).count();
    assert!(metadata_reads <= 2, "the run stopped at the first unusable version: {metadata_reads} metadata reads");
}

#[test]
fn a_conflict_over_a_hundred_versions_is_a_few_short_lines() {
    let mut releases: Vec<Release> = hundred().map(|v| Release::new("app", &v).requires(&["lib<2"])).collect();
    releases.extend([Release::new("lib", "1.0"), Release::new("lib", "2.0")]);
    let server = IndexServer::start(Registry::new().with(releases));
    let ran = run(&server, &["app", "lib>=2"]);
    assert_eq!(ran.code, 2, "{}{}", ran.stdout, ran.stderr);
    let message = ran.stderr.trim_end();
    assert!(message.len() < 400, "{} characters:\n{message}", message.len());
    assert!(message.lines().count() <= 5, "{message}");
    assert!(message.contains("app 1.0 to 1.99 depends on lib <2"), "{message}");
    assert!(message.contains("lib >=2"), "{message}");
}

#[test]
fn versions_that_need_a_build_are_named_as_ranges_with_the_reason() {
    // pyspark's shape: every version an sdist whose dependencies are not static.
    let releases = hundred().map(|v| Release::new("spark", &v).wheels(&[]).with_sdist_metadata("2.1", &[]));
    let server = IndexServer::start(Registry::new().with(releases));
    let ran = run(&server, &["spark"]);
    assert_eq!(ran.code, 2, "{}{}", ran.stdout, ran.stderr);
    let message = ran.stderr.trim_end();
    assert!(message.len() < 400, "{} characters:\n{message}", message.len());
    assert!(message.contains("spark 1.0 to 1.99: sdist only"), "{message}");
    assert_eq!(message.lines().count(), 1, "one fact is no conflict: one line\n{message}");
}

/// `lib`: 1.0 usable; 2.0 to 2.4 need Python 3.12 (index page); 3.0 yanked; 3.1 an sdist
/// without static metadata; 3.2 a wheel for Windows only.
fn excluding() -> Registry {
    let mut releases = vec![Release::new("lib", "1.0")];
    releases.extend((0..5).map(|p| Release::new("lib", &format!("2.{p}")).requires_python(">=3.12")));
    releases.push(Release::new("lib", "3.0").yanked("broken"));
    releases.push(Release::new("lib", "3.1").wheels(&[]).with_sdist_metadata("2.1", &[]));
    releases.push(Release::new("lib", "3.2").wheels(&["cp311-cp311-win_amd64"]));
    Registry::new().with(releases)
}

#[test]
fn verbose_says_which_newer_versions_were_excluded_and_why() {
    let server = IndexServer::start(excluding());
    let ran = run(&server, &["lib", "--verbose"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(ran.stdout.contains("lib==1.0"), "{}", ran.stdout);
    let notes = notes(&ran);
    for expected in [
        "excluded lib 2.0 to 2.4: requires Python >=3.12",
        "excluded lib 3.0: yanked",
        "excluded lib 3.1: sdist only, and --no-build forbids building it",
        "excluded lib 3.2: no file installs on the target",
    ] {
        assert!(notes.iter().any(|n| n.contains(expected)), "{expected}: {notes:#?}");
    }
    let plain = run(&server, &["lib"]);
    assert!(!plain.stderr.contains("excluded"), "only with --verbose: {}", plain.stderr);
}

/// Only versions the tree's requirements allow are judged: those they leave out are not
/// excluded by their files (a user pinned below them knows why), and a project pinned far below
/// its newest release does not have every newer version read.
#[test]
fn versions_the_requirements_leave_out_get_no_exclusion_note() {
    let mut registry = excluding();
    registry.publish(&Release::new("app", "1.0").requires(&["lib<3.1"]));
    let server = IndexServer::start(registry);
    let ran = run(&server, &["app", "--verbose"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let notes = notes(&ran);
    assert!(notes.iter().any(|n| n.contains("excluded lib 3.0: yanked")), "{notes:#?}");
    assert!(notes.iter().any(|n| n.contains("excluded lib 2.0 to 2.4: requires Python >=3.12")), "{notes:#?}");
    assert!(!notes.iter().any(|n| n.contains("lib 3.1") || n.contains("lib 3.2")), "{notes:#?}");
}

#[test]
fn a_root_older_than_its_newest_release_says_why() {
    let registry = Registry::new().with([
        Release::new("app", "1.0"),
        Release::new("app", "2.0").requires_python(">=3.12"),
        Release::new("tool", "1.0").requires(&["lib"]),
        Release::new("tool", "2.0").requires(&["lib>=2"]),
        Release::new("lib", "1.0"),
        Release::new("lib", "2.0"),
    ]);
    let server = IndexServer::start(registry);
    let ran = run(&server, &["app", "tool", "lib<2"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(ran.stdout.contains("app==1.0") && ran.stdout.contains("tool==1.0"), "{}", ran.stdout);
    assert_eq!(
        notes(&ran),
        [
            "hashlock: note: app is pinned at 1.0, not its newest release 2.0: requires Python >=3.12",
            "hashlock: note: tool is pinned at 1.0, not its newest release 2.0: a conflict with lib \
             (tool 2.0 requires lib >=2, the lock has 1.0)",
        ],
        "{}",
        ran.stderr
    );
    let quiet = run(&server, &["app", "tool", "lib<2", "--quiet"]);
    assert_eq!((quiet.code, quiet.stderr.as_str()), (0, ""), "--quiet says nothing");
    let asked_for_old = run(&server, &["app<2"]);
    assert!(notes(&asked_for_old).is_empty(), "the newest a root allows counts: {}", asked_for_old.stderr);
}

#[test]
fn the_newest_release_excluded_on_purpose_is_the_reason_given() {
    let server = IndexServer::start(excluding());
    let ran = run(&server, &["lib"]);
    assert_eq!(
        notes(&ran),
        ["hashlock: note: lib is pinned at 1.0, not its newest release 3.2: no file installs on the target"],
        "{}",
        ran.stderr
    );
}

/// homeassistant's shape: the newest releases need a newer Python, and the newest one that
/// would serve needs a dependency that is left out.
#[test]
fn a_stale_root_names_the_newest_usable_release_and_what_it_needed() {
    let registry = Registry::new().with([
        Release::new("app", "1.0"),
        Release::new("app", "2.0").requires(&["build-me==1.0"]),
        Release::new("app", "3.0").requires_python(">=3.12"),
        Release::new("build-me", "1.0").wheels(&[]).with_sdist_metadata("2.1", &[]),
    ]);
    let server = IndexServer::start(registry);
    let ran = run(&server, &["app"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(
        notes(&ran),
        ["hashlock: note: app is pinned at 1.0, not its newest release 3.0: requires Python >=3.12; 2.0 was not \
             taken either: a conflict with build-me (app 2.0 requires build-me ==1.0; build-me 1.0: sdist only, \
             and --no-build forbids building it)"],
        "{}",
        ran.stderr
    );
    let verbose = run(&server, &["app", "--verbose"]);
    let expected = "hashlock: note: excluded build-me 1.0: sdist only";
    assert!(
        notes(&verbose).iter().any(|n| n.starts_with(expected)),
        "not in the lock, still named: {}",
        verbose.stderr
    );
}

/// pyspark's `2.2.0.post0` sdist keeps the PKG-INFO of 2.2.0: discarded, as pip and uv do,
/// and named with `--verbose`; a wheel that disagrees with its name still stops the run
/// (see `fallbacks.rs`).
#[test]
fn an_sdist_whose_metadata_gives_another_version_is_excluded() {
    let mut registry = Registry::new().with([Release::new("lib", "0.9")]);
    let built = support::build::sdist("lib", "1.0", "2.2", &[], &[]);
    let file = support::File::built(built, "1.0.post0");
    registry.add("lib", support::File { filename: "lib-1.0.post0.tar.gz".into(), ..file });
    let server = IndexServer::start(registry);
    let ran = run(&server, &["lib", "--verbose"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(ran.stdout.contains("lib==0.9"), "{}", ran.stdout);
    let notes = notes(&ran);
    assert!(notes.contains(&"hashlock: note: excluded lib 1.0.post0: its sdist's metadata says lib 1.0"), "{notes:#?}");
}
