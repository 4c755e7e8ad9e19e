//! How metadata and hashes are found when the index offers less: HTML pages only, no PEP 658
//! metadata files (range requests into wheels), no range requests (whole wheels), sdists with
//! static `PKG-INFO` metadata, and the clear errors for sdists whose dependencies are dynamic
//! and for metadata that lies about its name or version; what `--verbose` counts of each kind.

mod support;

use std::collections::BTreeMap;

use support::{IndexServer, Logged, Registry, Release, generate, lock_from_stdout};

const PINS: [&str; 3] = ["app==1.0", "lib==2.0", "tiny==1.0"];

/// Wheels big enough (≈100 KiB, incompressible) that a range request is not the whole file.
fn tree() -> Registry {
    Registry::new().with([
        Release::new("app", "1.0").requires(&["lib>=2", "tiny"]).payload(100_000).with_sdist(),
        Release::new("lib", "1.0").payload(100_000),
        Release::new("lib", "2.0").payload(100_000).wheels(&["py3-none-any", "cp311-cp311-win_amd64"]),
        Release::new("tiny", "1.0"),
    ])
}

fn wheel_requests<'a>(log: &'a [Logged], wheel: &str) -> Vec<&'a Logged> {
    let path = format!("/files/{wheel}");
    log.iter().filter(|l| l.path == path).collect()
}

fn is_whole_download(request: &Logged) -> bool {
    request.method == "GET" && request.status == 200
}

/// The wheels whose metadata the resolver needed: those of the pinned versions.
const NEEDED: [&str; 3] = ["app-1.0-py3-none-any.whl", "lib-2.0-py3-none-any.whl", "tiny-1.0-py3-none-any.whl"];

#[test]
fn pep658_metadata_files_are_used_and_fetched_once() {
    let registry = tree();
    let server = IndexServer::start(registry.clone());
    lock_from_stdout(&mut generate(&server.index_url(), &["app"])).assert_pins_and_hashes(&registry, &PINS);
    let log = server.log();
    for wheel in NEEDED {
        assert_eq!(server.requests(&format!("/files/{wheel}.metadata")), 1, "{wheel}.metadata: {log:#?}");
    }
    for project in ["app", "lib", "tiny"] {
        assert_eq!(server.requests(&format!("/simple/{project}/")), 1, "page of {project}: {log:#?}");
    }
    let downloads: Vec<_> = log.iter().filter(|l| l.path.ends_with(".whl") || l.path.ends_with(".tar.gz")).collect();
    assert!(downloads.is_empty(), "metadata files make downloads unnecessary: {downloads:#?}");
}

#[test]
fn html_pages_only() {
    let registry = tree();
    let server = IndexServer::start(registry.clone());
    server.set_json(false);
    lock_from_stdout(&mut generate(&server.index_url(), &["app"])).assert_pins_and_hashes(&registry, &PINS);
    let pages: Vec<_> = server.log().into_iter().filter(|l| l.path.starts_with("/simple/")).collect();
    assert!(!pages.is_empty() && pages.iter().all(|l| l.content_type == "text/html" && l.status == 200), "{pages:#?}");
}

#[test]
fn without_pep658_range_requests_read_the_wheels() {
    let registry = tree();
    let server = IndexServer::start(registry.clone());
    server.set_pep658(false);
    lock_from_stdout(&mut generate(&server.index_url(), &["app"])).assert_pins_and_hashes(&registry, &PINS);
    let log = server.log();
    assert!(!log.iter().any(|l| l.path.ends_with(".metadata")), "metadata files are not advertised: {log:#?}");
    for wheel in NEEDED {
        let requests = wheel_requests(&log, wheel);
        let size = registry.file(wheel).and_then(|f| f.bytes.as_ref()).map_or(0, Vec::len);
        assert!(requests.iter().any(|l| l.range.is_some() && l.status == 206), "{wheel}: no range request: {log:#?}");
        assert!(!requests.iter().any(|l| is_whole_download(l)), "{wheel} was downloaded whole: {requests:#?}");
        if size > 64 * 1024 {
            let fetched: usize = requests.iter().map(|l| l.body_len).sum();
            assert!(fetched < size, "{wheel}: {fetched} of {size} bytes fetched in ranges");
        }
    }
}

#[test]
fn without_range_support_whole_wheels_are_read_once() {
    let registry = tree();
    let server = IndexServer::start(registry.clone());
    server.set_pep658(false);
    server.set_range(false);
    lock_from_stdout(&mut generate(&server.index_url(), &["app"])).assert_pins_and_hashes(&registry, &PINS);
    let log = server.log();
    for wheel in NEEDED {
        let whole = wheel_requests(&log, wheel).into_iter().filter(|l| is_whole_download(l)).count();
        assert_eq!(whole, 1, "{wheel} downloaded whole exactly once: {log:#?}");
    }
}

#[test]
fn sdist_only_packages_with_static_metadata_resolve() {
    let registry = Registry::new().with([
        Release::new("app", "1.0").requires(&["source-only"]),
        Release::new("source-only", "1.0").requires(&["tiny>=1"]).sdist_only(),
        Release::new("tiny", "1.0"),
    ]);
    let server = IndexServer::start(registry.clone());
    let lock = lock_from_stdout(&mut generate(&server.index_url(), &["app"]));
    lock.assert_pins_and_hashes(&registry, &["app==1.0", "source-only==1.0", "tiny==1.0"]);
    assert!(lock.entry("tiny").via.iter().any(|v| v == "source-only"), "{:?}", lock.entry("tiny").via);
    assert_eq!(server.requests("/files/source_only-1.0.tar.gz"), 1, "PKG-INFO read from the sdist");
}

#[test]
fn sdists_whose_dependencies_are_not_static_are_refused_by_name() {
    // Metadata-Version 2.2 with `Dynamic: Requires-Dist`, and 2.1, where nothing is promised.
    for (metadata_version, dynamic) in [("2.2", &["Requires-Dist"][..]), ("2.1", &[][..])] {
        let registry = Registry::new().with([
            Release::new("app", "1.0").requires(&["needs-build"]),
            Release::new("needs-build", "3.1")
                .requires(&["tiny"])
                .wheels(&[])
                .with_sdist_metadata(metadata_version, dynamic),
            Release::new("tiny", "1.0"),
        ]);
        let server = IndexServer::start(registry);
        let assert = generate(&server.index_url(), &["app"]).assert().code(2);
        let output = assert.get_output();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("needs-build"), "Metadata-Version {metadata_version}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(output.stdout.is_empty(), "no requirements printed: {}", String::from_utf8_lossy(&output.stdout));
    }
}

/// A wheel of `app` 1.0 whose METADATA names another project or version: refused with one line
/// naming the file, whether read from a PEP 658 file, by range requests or whole.
#[test]
fn metadata_whose_name_or_version_lies_is_refused() {
    for (liar, says) in [(Release::new("evil", "1.0"), "evil 1.0"), (Release::new("app", "2.0"), "app 2.0")] {
        let built = liar.requires(&["helper"]).files().remove(0);
        let mut registry = Registry::new().with([Release::new("helper", "1.0")]);
        registry
            .add("app", support::File { filename: "app-1.0-py3-none-any.whl".into(), version: "1.0".into(), ..built });
        let server = IndexServer::start(registry);
        for (pep658, range) in [(true, true), (false, true), (false, false)] {
            server.set_pep658(pep658);
            server.set_range(range);
            let ran = support::Ran::of(&mut generate(&server.index_url(), &["app"]), &[]);
            let what = format!("{says}, PEP 658 {pep658}, range {range}");
            assert_eq!(ran.code, 2, "{what}:\n{}{}", ran.stdout, ran.stderr);
            assert!(ran.stdout.is_empty(), "{what}: nothing written:\n{}", ran.stdout);
            let line = ran.stderr.trim_end();
            assert_eq!(line.lines().count(), 1, "{what}: {line}");
            assert!(
                line.contains("app-1.0-py3-none-any.whl") && line.contains(&format!("says {says}")),
                "{what}: {line}"
            );
        }
    }
}

/// What the index served, by the kind `--verbose` counts it under: `(requests, bytes)`.
fn served_by_kind(log: &[Logged]) -> BTreeMap<&'static str, (u64, u64)> {
    let mut served: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for request in log {
        let kind = match request.path.as_str() {
            path if path.starts_with("/simple/") => "pages",
            path if path.ends_with(".metadata") => "metadata",
            path if path.ends_with(".whl") && request.range.is_some() => "wheel ranges",
            // Once an index ignores ranges, wheels are downloaded whole.
            path if path.ends_with(".whl") => "whole files",
            path if path.ends_with(".tar.gz") => "sdists",
            path => panic!("unexpected request for {path}"),
        };
        let entry = served.entry(kind).or_default();
        *entry = (entry.0 + 1, entry.1 + request.body_len as u64);
    }
    served
}

/// `hashlock: bytes: pages 3 KiB (3 requests), sdists 0 KiB (1 request)` → `(requests, KiB)`
/// by kind, checking that each count agrees with its noun.
fn verbose_by_kind(stderr: &str) -> BTreeMap<String, (u64, u64)> {
    let line = stderr.lines().find_map(|l| l.strip_prefix("hashlock: bytes: ")).expect("a bytes line");
    let mut counted = BTreeMap::new();
    for part in line.split(", ") {
        let (name_and_kib, requests) = part.split_once(" KiB (").expect(part);
        let (name, kib) = name_and_kib.rsplit_once(' ').expect(part);
        let (requests, noun) = requests.trim_end_matches(')').split_once(' ').expect(part);
        let requests: u64 = requests.parse().expect(part);
        assert_eq!(noun, if requests == 1 { "request" } else { "requests" }, "{line}");
        counted.insert(name.to_string(), (requests, kib.parse().expect(part)));
    }
    counted
}

/// `--verbose` counts requests by what they were for, as many of each kind as the index
/// served, and their bytes (those read whole to the KiB); and it reports the requests in flight.
#[test]
fn verbose_counts_requests_and_bytes_by_kind() {
    let registry = Registry::new().with([
        Release::new("app", "1.0").requires(&["lib>=2", "source-only"]).payload(100_000),
        Release::new("lib", "2.0").payload(100_000),
        Release::new("source-only", "1.0").sdist_only(),
    ]);
    let server = IndexServer::start(registry);
    for (pep658, range) in [(true, true), (false, true), (false, false)] {
        server.set_pep658(pep658);
        server.set_range(range);
        server.clear_log();
        let ran = support::Ran::of(&mut generate(&server.index_url(), &["app", "--verbose", "--jobs", "4"]), &[]);
        let what = format!("PEP 658 {pep658}, range {range}:\n{}", ran.stderr);
        assert_eq!(ran.code, 0, "{what}");
        let served = served_by_kind(&server.log());
        let counted = verbose_by_kind(&ran.stderr);
        let names: Vec<&str> = counted.keys().map(String::as_str).collect();
        assert_eq!(names, served.keys().copied().collect::<Vec<_>>(), "{what}");
        for (kind, (requests, bytes)) in served {
            let (counted_requests, kib) = counted[kind];
            assert_eq!(counted_requests, requests, "{kind}: {what}");
            // An sdist is read only until its metadata is found.
            match kind {
                "sdists" => assert!(kib <= bytes / 1024, "{kind}: {what}"),
                _ => assert_eq!(kib, bytes / 1024, "{kind}: {what}"),
            }
        }
        assert_eq!(counted.get("sdists").map(|c| c.0), Some(1), "{what}");
        assert_eq!(counted.contains_key("metadata"), pep658, "{what}");
        let in_flight = ran.stderr.lines().find_map(|l| l.strip_prefix("hashlock: in flight: median ")).expect(&what);
        let (median, rest) = in_flight.split_once(" (--jobs 4), idle ").expect(&what);
        assert!((1..=5).contains(&median.parse::<u32>().expect(&what)), "{what}");
        let idle = rest.strip_suffix("% of the run").expect(&what).parse::<u32>().expect(&what);
        assert!(idle <= 100, "{what}");
    }
}
