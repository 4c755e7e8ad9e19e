//! Metadata of sdist-only packages read without building them, when the sdist declares it
//! statically: `PKG-INFO` 2.2, else `pyproject.toml`'s `[project]` table; a prefix of a tar sdist
//! (not the whole file); a zip sdist by range requests; and the clear refusal when only a build
//! could tell.

mod support;

use support::build::{self, SdistFormat};
use support::{File, IndexServer, Registry, Release, generate, lock_from_stdout};

const STALE_PKG_INFO: &str = "Metadata-Version: 1.1\nName: src-only\nVersion: 1.0\nSummary: test package\n";

/// `src-only` 1.0, sdist only, with an old `PKG-INFO` and this `pyproject.toml`, after `before`.
fn src_only(pyproject: &str, before: &[(String, Vec<u8>)], format: SdistFormat) -> File {
    let mut members = before.to_vec();
    members.push(("PKG-INFO".into(), STALE_PKG_INFO.into()));
    members.push(("pyproject.toml".into(), pyproject.into()));
    members.push(("setup.py".into(), b"from setuptools import setup\nsetup()\n".to_vec()));
    File::built(build::sdist_of("src-only", "1.0", &members, format), "1.0")
}

const STATIC_PROJECT: &str = r#"[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "src-only"
dynamic = ["version"]
dependencies = ["tiny>=1", "winonly; sys_platform == 'win32'"]

[project.optional-dependencies]
fast = ["speedy>=2"]
slow = ["sluggish"]
"#;

/// `app` needs `src-only[fast]`; everything else has wheels.
fn tree(sdist: File) -> Registry {
    let mut registry = Registry::new().with([
        Release::new("app", "1.0").requires(&["src-only[fast]"]),
        Release::new("tiny", "1.0"),
        Release::new("winonly", "1.0"),
        Release::new("speedy", "2.0"),
        Release::new("sluggish", "1.0"),
    ]);
    registry.add("src-only", sdist);
    registry
}

const PINS: [&str; 4] = ["app==1.0", "speedy==2.0", "src-only==1.0", "tiny==1.0"];

#[test]
fn a_static_pkg_info_2_2_gives_the_tree() {
    let registry = Registry::new().with([
        Release::new("app", "1.0").requires(&["src-only"]),
        Release::new("src-only", "1.0").requires(&["tiny>=1"]).sdist_only(),
        Release::new("tiny", "1.0"),
    ]);
    let server = IndexServer::start(registry.clone());
    let lock = lock_from_stdout(&mut generate(&server.index_url(), &["app"]));
    lock.assert_pins_and_hashes(&registry, &["app==1.0", "src-only==1.0", "tiny==1.0"]);
    assert_eq!(lock.entry("tiny").via, ["src-only"]);
}

/// Metadata-Version 1.1 promises nothing; the `[project]` table does, and its extra is honoured
/// (`fast` pulls `speedy`, `slow` is not asked for, `winonly` is for Windows only).
#[test]
fn a_static_project_table_gives_dependencies_and_extras() {
    let registry = tree(src_only(STATIC_PROJECT, &[], SdistFormat::TarGz));
    let server = IndexServer::start(registry.clone());
    let lock = lock_from_stdout(&mut generate(&server.index_url(), &["app"]));
    lock.assert_pins_and_hashes(&registry, &PINS);
    assert_eq!(lock.entry("speedy").via, ["src-only"]);
    assert_eq!(lock.entry("tiny").via, ["src-only"]);
}

/// Dynamic dependencies need a build: with `--no-build` that is refused, naming the version,
/// and nothing is fetched to build it.
#[test]
fn dynamic_dependencies_need_a_build_which_no_build_refuses() {
    let pyproject = STATIC_PROJECT.replace(r#"dynamic = ["version"]"#, r#"dynamic = ["version", "dependencies"]"#);
    let server = IndexServer::start(tree(src_only(&pyproject, &[], SdistFormat::TarGz)));
    let ran = support::Ran::of(&mut generate(&server.index_url(), &["app", "--no-build"]), &[]);
    assert_eq!(ran.code, 2, "{}{}", ran.stdout, ran.stderr);
    assert!(ran.stdout.is_empty(), "nothing written: {}", ran.stdout);
    let message = ran.stderr.trim_end();
    assert!(message.len() < 400, "a few short lines: {message}");
    assert!(message.contains("src-only 1.0: sdist only, and --no-build forbids building it"), "{message}");
    assert_eq!(server.requests("/simple/setuptools/"), 0, "no build requirement is looked up");
}

/// A 200 MB sdist whose `PKG-INFO` (2.2) is its first member: a prefix is read, then the
/// download is dropped.
#[test]
fn only_a_prefix_of_a_large_sdist_is_read() {
    const DECLARED: u64 = 200 * 1024 * 1024;
    let small = Release::new("huge", "1.0").requires(&["tiny"]).sdist_only().files().remove(0);
    let mut registry = Registry::new().with([Release::new("tiny", "1.0")]);
    registry.add("huge", small.padded_to(DECLARED));
    let server = IndexServer::start(registry.clone());
    let lock = lock_from_stdout(&mut generate(&server.index_url(), &["huge"]));
    lock.assert_pins_and_hashes(&registry, &["huge==1.0", "tiny==1.0"]);
    let sent = server.bytes_sent("/files/huge-1.0.tar.gz");
    assert!(sent > 0, "the sdist was read");
    assert!(sent < 16 * 1024 * 1024, "{sent} of {DECLARED} bytes sent for a PKG-INFO in the first KiB");
}

/// A zip sdist whose deciding members sit behind 300 KB of data: range requests read them, not
/// the whole file; a server without ranges still gets the whole file read once.
#[test]
fn a_zip_sdist_is_read_by_ranges() {
    let payload = [("src_only/data.bin".to_string(), build::noise(300_000))];
    let sdist = src_only(STATIC_PROJECT, &payload, SdistFormat::Zip);
    let size = sdist.bytes.as_ref().map_or(0, Vec::len);
    assert_eq!(sdist.filename, "src_only-1.0.zip");
    let registry = tree(sdist);
    let server = IndexServer::start(registry.clone());
    lock_from_stdout(&mut generate(&server.index_url(), &["app"])).assert_pins_and_hashes(&registry, &PINS);
    let log: Vec<_> = server.log().into_iter().filter(|l| l.path == "/files/src_only-1.0.zip").collect();
    assert!(!log.is_empty() && log.iter().all(|l| l.range.is_some() && l.status == 206), "{log:#?}");
    let fetched: usize = log.iter().map(|l| l.body_len).sum();
    assert!(fetched < size / 4, "{fetched} of {size} bytes fetched in ranges");

    server.set_range(false);
    server.clear_log();
    lock_from_stdout(&mut generate(&server.index_url(), &["app"])).assert_pins_and_hashes(&registry, &PINS);
    let whole = server.log().iter().filter(|l| l.path == "/files/src_only-1.0.zip" && l.status == 200).count();
    assert_eq!(whole, 1, "{:#?}", server.log());
}
