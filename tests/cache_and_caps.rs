//! A hostile index against the cache and against memory: metadata one index served is never
//! believed for another index's files, and response bodies are capped.

mod support;

use std::io::Write;
use std::path::Path;

use support::{IndexServer, LockFile, Registry, Release, hashlock};

const WHEEL: &str = "demo-1.0-py3-none-any.whl";

/// `hashlock generate demo` against `index` with the cache in `cache_dir`.
fn generate_cached(index: &IndexServer, cache_dir: &Path, extra: &[&str]) -> LockFile {
    let mut command = hashlock();
    command.args(["generate", "demo", "--index-url", &index.index_url(), "--python-version", "3.11"]);
    command.args(["--python-platform", "linux", "--cache-dir"]).arg(cache_dir).args(extra);
    let output = command.assert().success().get_output().stdout.clone();
    LockFile::parse(&String::from_utf8(output).unwrap())
}

fn honest() -> Registry {
    Registry::new().with([Release::new("demo", "1.0"), Release::new("helper", "1.0")])
}

/// The liar lists the honest wheel under its real sha256 and says it requires `helper`: in a
/// PEP 658 file (advertised under that file's own hash), or in the METADATA of the wheel it
/// serves for range requests. The honest index, run next with the same cache, pins no `helper`.
#[test]
fn one_index_cannot_poison_the_metadata_cache_for_another() {
    let lying_wheel = Release::new("demo", "1.0").requires(&["helper"]).files().remove(0);
    for pep658 in [true, false] {
        let cache = tempfile::tempdir().unwrap();
        let mut lies = honest();
        lies.projects.get_mut("demo").unwrap()[0].metadata = lying_wheel.metadata.clone();
        let liar = IndexServer::start(lies);
        let good = IndexServer::start(honest());
        if !pep658 {
            liar.set_pep658(false);
            good.set_pep658(false);
            liar.replace_bytes(WHEEL, lying_wheel.bytes.clone().unwrap());
        }
        let lied = generate_cached(&liar, cache.path(), &[]);
        assert!(lied.pins().iter().any(|(name, _)| name == "helper"), "pep658 {pep658}: the lie is served");
        for extra in [&[][..], &["--refresh"]] {
            generate_cached(&good, cache.path(), extra).assert_pins_and_hashes(&honest(), &["demo==1.0"]);
        }
        // The honest index's own entries are still used: a warm run reads no file.
        good.clear_log();
        generate_cached(&good, cache.path(), &[]).assert_pins_and_hashes(&honest(), &["demo==1.0"]);
        let files: Vec<_> = good.log().into_iter().filter(|l| l.path.starts_with("/files/")).collect();
        assert!(files.is_empty(), "pep658 {pep658}: {files:#?}");
    }
}

/// Gzip of `decoded` spaces: a few MiB on the wire for gigabytes decoded.
fn gzip_bomb(decoded: usize) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let chunk = vec![b' '; 1 << 20];
    for _ in 0..decoded / chunk.len() {
        encoder.write_all(&chunk).unwrap();
    }
    encoder.finish().unwrap()
}

#[test]
fn a_gzip_bomb_page_is_refused_at_the_cap() {
    let index = IndexServer::start(Registry::new());
    index.serve_gzipped_page("bomb", gzip_bomb(300 << 20));
    let mut command = support::generate(&index.index_url(), &["bomb"]);
    let output = command.assert().code(2).get_output().clone();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let expected = format!("{}/bomb/: the response is larger than 256 MiB, refused", index.index_url());
    assert_eq!(stderr.trim_end(), format!("hashlock: error: {expected}"));
    assert!(output.stdout.is_empty());
}

/// A cached page large enough to be read a version at a time, damaged inside the newest
/// version's lines (same length, so the entry opens): the offline run that reads that version
/// gives no answer and names the entry, which it removes; the next run fetches the page again.
#[test]
fn a_cached_page_found_damaged_when_a_version_is_read_fails_the_run_and_is_removed() {
    let index = IndexServer::start(Registry::new().with((0..300).map(|v| Release::new("demo", &format!("{v}.0")))));
    let cache = tempfile::tempdir().unwrap();
    generate_cached(&index, cache.path(), &[]).assert_pins_and_hashes(&index.registry(), &["demo==299.0"]);
    let page = walk(cache.path()).into_iter().find(|path| path.ends_with("demo.page")).expect("a cached page");
    let text = std::fs::read_to_string(&page).unwrap();
    assert!(text.len() > 64 * 1024, "{} bytes: read whole, not a version at a time", text.len());
    let newest = text.find("demo-299.0-py3-none-any.whl\t").unwrap();
    let (before, after) = text.split_at(newest);
    let damaged = format!("{before}{}", after.replacen("\tjson\t", "\tjsox\t", 1));
    assert_eq!(damaged.len(), text.len());
    std::fs::write(&page, damaged).unwrap();

    let out = cache.path().join("out.txt");
    let mut offline = hashlock();
    offline.args(["generate", "demo", "--index-url", &index.index_url(), "--python-version", "3.11"]);
    offline.args(["--python-platform", "linux", "--offline", "-o"]).arg(&out).arg("--cache-dir").arg(cache.path());
    let output = offline.assert().code(2).get_output().clone();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let expected = format!(
        "hashlock: error: the cached page {} is damaged, and has been removed: run the command again",
        page.display()
    );
    assert_eq!(stderr.trim_end(), expected);
    assert!(output.stdout.is_empty() && !out.exists(), "no answer from a damaged page");
    assert!(!page.exists(), "the damaged entry is removed");
    generate_cached(&index, cache.path(), &[]).assert_pins_and_hashes(&index.registry(), &["demo==299.0"]);
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .flat_map(|entry| {
            let path = entry.unwrap().path();
            if path.is_dir() { walk(&path) } else { vec![path] }
        })
        .collect()
}
