//! Hostile and partial indexes: weak or missing hashes (`--compute-missing-hashes`), bodies
//! that trickle, rate limits, archive and page bombs.

mod support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use support::pip::Venv;
use support::{File, IndexServer, LockFile, Published, Registry, Release, sha256_hex};

/// An app with an sdist and wheels for three platforms, and a dependency: every file of a pin
/// must get its sha256.
fn tree() -> Registry {
    Registry::new().with([
        Release::new("app", "1.0").requires(&["lib"]).with_sdist(),
        Release::new("lib", "1.0")
            .wheels(&["py3-none-any", "cp311-cp311-win_amd64", "cp311-cp311-macosx_11_0_arm64"])
            .with_sdist(),
    ])
}

/// `registry` with every file publishing `published` instead of its sha256.
fn publishing(mut registry: Registry, published: Published) -> Registry {
    for file in registry.projects.values_mut().flatten() {
        *file = file.clone().publish(published);
    }
    registry
}

/// The sha256 of the bytes of every file of a version (what the index does not say).
fn real_sha256s(registry: &Registry, project: &str, version: &str) -> BTreeSet<String> {
    registry.files_of(project, version).iter().map(|f| sha256_hex(f.bytes.as_ref().unwrap())).collect()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn an_md5_only_index_with_compute_missing_hashes_gets_every_sha256_and_pip_installs_it() {
    let registry = publishing(tree(), Published::RealMd5);
    let index = IndexServer::start(registry.clone());
    let dir = tempfile::tempdir().unwrap();
    let (out, report) = (dir.path().join("requirements.txt"), dir.path().join("report.json"));
    let mut command = support::generate(&index.index_url(), &["app", "--compute-missing-hashes", "--report"]);
    command.arg(&report).arg("-o").arg(&out);
    let output = command.assert().success().get_output().clone();
    assert!(text(&output.stderr).contains("computed the sha256 of 6 files"), "{}", text(&output.stderr));

    let lock = LockFile::read(&out);
    assert_eq!(lock.pins(), [("app".into(), "1.0".into()), ("lib".into(), "1.0".into())]);
    for (name, files) in [("app", 2), ("lib", 4)] {
        let entry = lock.entry(name);
        assert_eq!(entry.sha256s(), real_sha256s(&registry, name, "1.0"), "{name}");
        assert_eq!(entry.hashes.len(), files, "{name}: only sha256, one per file");
    }

    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    support::check_report_schema(&report);
    let files = report["packages"].as_array().unwrap().iter().flat_map(|p| p["files"].as_array().unwrap().clone());
    assert!(files.clone().all(|f| f["hash_source"] == "computed"), "{report:#}");
    let computed: Vec<_> = report["packages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["findings"].as_array().unwrap().clone())
        .filter(|f| f["code"] == "computed-hash" && f["severity"] == "warning")
        .collect();
    assert_eq!(computed.len(), 6, "{report:#}");

    let Some(venv) = Venv::create() else { return };
    let installed = venv.install_require_hashes(&index.index_url(), &out, &[]);
    assert!(installed.status.success(), "{}\n{}", text(&installed.stdout), text(&installed.stderr));
    let check = venv.python("import app, lib; print(app.__version__, lib.__version__)");
    assert_eq!(text(&check.stdout).trim(), "1.0 1.0", "{}", text(&check.stderr));
}

#[test]
fn without_the_flag_the_refusal_names_it_and_writes_nothing() {
    let index = IndexServer::start(publishing(tree(), Published::RealMd5));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("requirements.txt");
    let output = support::generate(&index.index_url(), &["app", "-o"]).arg(&out).assert().code(1).get_output().clone();
    let stderr = text(&output.stderr);
    assert!(stderr.lines().last().unwrap().contains("pass --compute-missing-hashes"), "{stderr}");
    assert!(!out.exists());
}

/// No hash at all, or only sha1, on JSON and HTML pages; and a second run with the cache reads
/// the digests computed before, downloading nothing.
#[test]
fn hashless_and_sha1_only_files_get_their_sha256_and_the_digests_are_cached() {
    for (published, json) in [(Published::None, true), (Published::RealSha1, false)] {
        let registry = publishing(tree(), published);
        let index = IndexServer::start(registry.clone());
        index.set_json(json);
        let cache = tempfile::tempdir().unwrap();
        let run = || {
            let mut command = support::hashlock();
            command.args(["generate", "app", "--compute-missing-hashes", "--index-url", &index.index_url()]);
            command.args(["--python-version", "3.11", "--python-platform", "linux", "--cache-dir"]).arg(cache.path());
            support::lock_from_stdout(&mut command)
        };
        let lock = run();
        assert_eq!(lock.entry("lib").sha256s(), real_sha256s(&registry, "lib", "1.0"), "{published:?}");
        index.clear_log();
        assert_eq!(run().entries, lock.entries, "{published:?}");
        let downloads: Vec<_> = index.log().into_iter().filter(|l| l.path.starts_with("/files/")).collect();
        assert!(downloads.is_empty(), "{published:?}: {downloads:#?}");
    }
}

/// An md5 the bytes do not have: the file is not the one the index describes.
#[test]
fn a_weak_hash_that_does_not_match_the_download_stops_the_run() {
    let mut registry = publishing(tree(), Published::RealMd5);
    let lib = registry.projects.get_mut("lib").unwrap();
    lib[1] = lib[1].clone().publish(Published::Md5Only);
    let filename = lib[1].filename.clone();
    let index = IndexServer::start(registry);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("requirements.txt");
    let mut command = support::generate(&index.index_url(), &["app", "--compute-missing-hashes", "-o"]);
    let output = command.arg(&out).assert().code(2).get_output().clone();
    let stderr = text(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    let expected = format!(
        "hashlock: error: {filename}: the index publishes md5 {}, but the file downloaded from {} has md5 ",
        "0".repeat(32),
        index.file_url(&filename)
    );
    assert!(stderr.starts_with(&expected), "{stderr}");
    assert!(!out.exists());
}

/// A page sent a byte every 0.2 s never gets a read timeout; `--timeout 1` ends each attempt
/// after a second, and the four attempts within the README's bound.
#[test]
fn a_trickling_page_ends_within_the_timeout_bound() {
    let index = IndexServer::start(tree());
    index.configure(|c| c.trickle = Some(Duration::from_millis(200)));
    let started = Instant::now();
    let output =
        support::generate(&index.index_url(), &["app", "--timeout", "1"]).assert().code(2).get_output().clone();
    let took = started.elapsed();
    // 4 × 1 s + 0.2 + 0.4 + 0.8 s of backoff, and the process's own start.
    assert!(took < Duration::from_secs(8), "{took:?}");
    let stderr = text(&output.stderr);
    assert!(stderr.starts_with(&format!("hashlock: error: {}/app/: ", index.index_url())), "{stderr}");
    assert!(stderr.trim_end().ends_with("(after 4 attempts)"), "{stderr}");
    assert!(output.stdout.is_empty());
}

#[test]
fn retry_after_on_429_is_honoured() {
    let registry = tree();
    let index = IndexServer::start(registry.clone());
    index.configure(|c| c.throttle = Some(1));
    let started = Instant::now();
    support::lock_from_stdout(&mut support::generate(&index.index_url(), &["app"]))
        .assert_pins_and_hashes(&registry, &["app==1.0", "lib==1.0"]);
    // Each request waits the second asked for; two levels of the tree, at least.
    assert!(started.elapsed() >= Duration::from_secs(2), "{:?}", started.elapsed());
    let log = index.log();
    for path in ["/simple/app/", "/simple/lib/"] {
        let statuses: Vec<u16> = log.iter().filter(|l| l.path == path).map(|l| l.status).collect();
        assert_eq!(statuses, [429, 200], "{path}");
    }
}

// --- bombs -------------------------------------------------------------------------------------

const GIB: u64 = 1 << 30;

/// A raw deflate stream of `prefix`, then `size` bytes of `A`: one compressed MiB repeated
/// (each piece flushed to a byte boundary and referring only to itself), so a member that
/// inflates to a GiB costs a MiB to make and to serve.
fn deflate_bomb(prefix: &[u8], size: u64) -> Vec<u8> {
    fn flushed(bytes: &[u8]) -> Vec<u8> {
        let mut compress = flate2::Compress::new(flate2::Compression::best(), false);
        let mut out = Vec::with_capacity(bytes.len() + 1024);
        compress.compress_vec(bytes, &mut out, flate2::FlushCompress::Sync).unwrap();
        assert_eq!(compress.total_in(), bytes.len() as u64);
        out
    }
    const MIB: u64 = 1 << 20;
    let mut stream = if prefix.is_empty() { Vec::new() } else { flushed(prefix) };
    let piece = flushed(&[b'A'; MIB as usize]);
    for _ in 0..size / MIB {
        stream.extend_from_slice(&piece);
    }
    // A final, empty stored block.
    stream.extend_from_slice(&[0x01, 0x00, 0x00, 0xff, 0xff]);
    stream
}

/// A wheel whose only member, its METADATA, inflates to a GiB; its zip headers declare that
/// size, or (`lying`) a kilobyte. (The CRC is not that of the data: nothing reads that far.)
fn bomb_wheel(lying: bool) -> Vec<u8> {
    let name = b"bomb-1.0.dist-info/METADATA";
    let data = deflate_bomb(b"", GIB);
    let declared: u32 = if lying { 1024 } else { GIB as u32 };
    let le16 = |v: u16| v.to_le_bytes();
    let le32 = |v: u32| v.to_le_bytes();
    let mut zip = Vec::new();
    zip.extend_from_slice(&le32(0x0403_4b50));
    for field in [20, 0, 8, 0, 0x21] {
        zip.extend_from_slice(&le16(field));
    }
    for field in [0, data.len() as u32, declared] {
        zip.extend_from_slice(&le32(field));
    }
    zip.extend_from_slice(&le16(name.len() as u16));
    zip.extend_from_slice(&le16(0));
    zip.extend_from_slice(name);
    zip.extend_from_slice(&data);
    let central = zip.len() as u32;
    zip.extend_from_slice(&le32(0x0201_4b50));
    for field in [20, 20, 0, 8, 0, 0x21] {
        zip.extend_from_slice(&le16(field));
    }
    for field in [0, data.len() as u32, declared] {
        zip.extend_from_slice(&le32(field));
    }
    for field in [name.len() as u16, 0, 0, 0, 0] {
        zip.extend_from_slice(&le16(field));
    }
    zip.extend_from_slice(&le32(0));
    zip.extend_from_slice(&le32(0));
    zip.extend_from_slice(name);
    let central_len = zip.len() as u32 - central;
    zip.extend_from_slice(&le32(0x0605_4b50));
    for field in [0, 0, 1, 1] {
        zip.extend_from_slice(&le16(field));
    }
    zip.extend_from_slice(&le32(central_len));
    zip.extend_from_slice(&le32(central));
    zip.extend_from_slice(&le16(0));
    zip
}

/// An sdist whose `PKG-INFO` is a GiB of `A`: a tar header, then the bomb, gzipped.
fn bomb_sdist() -> Vec<u8> {
    let mut header = tar::Header::new_gnu();
    header.set_path("bomb-1.0/PKG-INFO").unwrap();
    header.set_size(GIB);
    header.set_mode(0o644);
    header.set_cksum();
    let mut gz = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    gz.extend_from_slice(&deflate_bomb(header.as_bytes(), GIB));
    gz.extend_from_slice(&[0; 8]);
    gz
}

fn assert_one_error(output: &std::process::Output, parts: &[&str]) {
    let stderr = text(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("hashlock: error: "), "{stderr}");
    for part in parts {
        assert!(stderr.contains(part), "{part:?} not in {stderr}");
    }
    assert!(output.stdout.is_empty());
}

/// Through range requests and through a whole download, with the size declared or hidden: one
/// error naming the wheel and the member, the cap holding the memory.
#[test]
fn a_wheel_whose_metadata_inflates_to_a_gib_is_refused() {
    const WHEEL: &str = "bomb-1.0-py3-none-any.whl";
    for lying in [false, true] {
        for range in [true, false] {
            let mut registry = Registry::new();
            registry.add("bomb", File::new(WHEEL, "1.0", bomb_wheel(lying)));
            let index = IndexServer::start(registry);
            index.set_range(range);
            let output = support::generate(&index.index_url(), &["bomb"]).assert().code(2).get_output().clone();
            assert_one_error(&output, &[WHEEL, "METADATA", "16777216 bytes"]);
        }
    }
}

#[test]
fn an_sdist_whose_pkg_info_inflates_to_a_gib_is_refused() {
    const SDIST: &str = "bomb-1.0.tar.gz";
    let mut registry = Registry::new();
    registry.add("bomb", File::new(SDIST, "1.0", bomb_sdist()));
    let index = IndexServer::start(registry);
    let output = support::generate(&index.index_url(), &["bomb", "--no-build"]).assert().code(2).get_output().clone();
    assert_one_error(&output, &[SDIST, "PKG-INFO", "16777216 bytes"]);
}

/// A 50 MB page (far larger than nearly every real one) is read; the 256 MiB cap is far above.
#[test]
fn a_page_of_50_mb_is_read() {
    let registry = tree();
    let index = IndexServer::start(registry.clone());
    index.configure(|c| c.page_padding = 50 << 20);
    support::lock_from_stdout(&mut support::generate(&index.index_url(), &["app"]))
        .assert_pins_and_hashes(&registry, &["app==1.0", "lib==1.0"]);
    assert!(index.log().iter().any(|l| l.path == "/simple/app/" && l.body_len > 50 << 20));
}

// --- two indexes answering for one name ----------------------------------------------------------

/// `app` → `lib` on the primary index (lib 1.0), and an extra index serving `lib` 9.0 (the
/// shape of dependency confusion) and `tool`.
fn confused() -> (IndexServer, IndexServer) {
    let primary = Registry::new().with([Release::new("app", "1.0").requires(&["lib"]), Release::new("lib", "1.0")]);
    let extra = Registry::new().with([Release::new("lib", "9.0"), Release::new("tool", "1.0")]);
    (IndexServer::start(primary), IndexServer::start(extra))
}

fn generate_with(primary: &IndexServer, extra: &IndexServer, args: &[&str]) -> std::process::Output {
    let mut command = support::generate(&primary.index_url(), &["--extra-index-url", &extra.index_url()]);
    command.args(args).output().unwrap()
}

fn pins(output: &std::process::Output) -> Vec<(String, String)> {
    assert!(output.status.success(), "{}", text(&output.stderr));
    LockFile::parse(&text(&output.stdout)).pins()
}

#[test]
fn first_index_is_the_default_and_never_asks_the_extra_index_for_a_name_the_first_has() {
    let (primary, extra) = confused();
    for args in [&["app"][..], &["app", "--index-strategy", "first-index"]] {
        extra.clear_log();
        let output = generate_with(&primary, &extra, args);
        assert_eq!(pins(&output), [("app".into(), "1.0".into()), ("lib".into(), "1.0".into())]);
        assert!(text(&output.stderr).is_empty(), "{}", text(&output.stderr));
        assert_eq!(extra.requests("/simple/lib/") + extra.requests("/simple/app/"), 0, "{:#?}", extra.log());
    }
    // A name only the extra index has is still found there; the first index's name is not.
    let output = generate_with(&primary, &extra, &["app", "tool"]);
    let expected = [("app", "1.0"), ("lib", "1.0"), ("tool", "1.0")].map(|(n, v)| (n.to_string(), v.to_string()));
    assert_eq!(pins(&output), expected);
    let output = generate_with(&primary, &extra, &["app", "lib>=2"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("no version of lib on the index matches >=2"), "{}", text(&output.stderr));
}

#[test]
fn unsafe_strategies_take_the_extra_index_as_uv_does_and_say_it_is_shadowing() {
    let (primary, extra) = confused();
    let expected = format!(
        "hashlock: warning: lib is served by more than one index: {} (newest 1.0), {} (newest 9.0)\n",
        primary.index_url(),
        extra.index_url()
    );
    for (strategy, lib) in [("unsafe-best-match", "9.0"), ("unsafe-first-match", "1.0")] {
        let output = generate_with(&primary, &extra, &["app", "--index-strategy", strategy]);
        assert_eq!(pins(&output), [("app".into(), "1.0".into()), ("lib".into(), lib.into())], "{strategy}");
        assert_eq!(text(&output.stderr), expected, "{strategy}");
    }
    // First match: the extra index's versions only once the first index's are excluded.
    let output = generate_with(&primary, &extra, &["app", "lib>=2", "--index-strategy", "unsafe-first-match"]);
    assert_eq!(pins(&output), [("app".into(), "1.0".into()), ("lib".into(), "9.0".into())]);
}

/// `audit` asks every index whatever the strategy: a lock made with pip's behaviour (lib 9.0
/// from the extra index) is flagged, and fails at the default `--fail-on warning`.
#[test]
fn audit_reports_a_project_served_by_two_indexes() {
    let (primary, extra) = confused();
    let output = generate_with(&primary, &extra, &["app", "--index-strategy", "unsafe-best-match"]);
    let dir = tempfile::tempdir().unwrap();
    let lock = dir.path().join("requirements.txt");
    std::fs::write(&lock, &output.stdout).unwrap();
    let mut command = support::hashlock_at("audit", &primary.index_url(), &["--extra-index-url", &extra.index_url()]);
    let ran =
        support::Ran::of(command.args(["--index-strategy", "unsafe-best-match", "--format", "json"]).arg(&lock), &[]);
    assert_eq!(ran.code, 1, "{}\n{}", ran.stdout, ran.stderr);
    assert_eq!(ran.findings(), [("index-shadowing".to_string(), "lib".to_string(), String::new())]);
    let report = ran.json();
    let finding = &report["packages"].as_array().unwrap().iter().find(|p| p["name"] == "lib").unwrap()["findings"][0];
    assert_eq!(finding["severity"], "warning");
    assert_eq!(
        finding["message"],
        "lib is served by more than one index: http://127.0.0.1:PORT/simple (newest 1.0), http://127.0.0.1:PORT/simple (newest 9.0)"
    );
}

// --- one cache directory, several runs -----------------------------------------------------------

/// `hashlock generate app` on `index` with the cache in `cache`, as a child process.
fn generate_in(index: &IndexServer, cache: &std::path::Path) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_hashlock"));
    support::without_pip_settings(&mut command).env_remove("HASHLOCK_CACHE_DIR");
    command.args(["generate", "app", "--compute-missing-hashes", "--index-url", &index.index_url()]);
    command.args(["--python-version", "3.11", "--python-platform", "linux", "--cache-dir"]).arg(cache);
    command.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
    command
}

/// Files under `dir` whose name starts with `.tmp` (writes in progress, or never finished).
fn temp_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(temp_files(&path));
        } else if entry.file_name().to_string_lossy().starts_with(".tmp") {
            found.push(path);
        }
    }
    found
}

/// An md5-only index without PEP 658 files (so metadata comes from range requests), an empty
/// cache directory, and what a run with a cache of its own prints.
fn md5_index_and_expected() -> (IndexServer, tempfile::TempDir, std::process::Output) {
    let index = IndexServer::start(publishing(tree(), Published::RealMd5));
    index.set_pep658(false);
    let alone = tempfile::tempdir().unwrap();
    let expected = generate_in(&index, alone.path()).output().unwrap();
    (index, tempfile::tempdir().unwrap(), expected)
}

/// Pages, metadata read by range requests (no PEP 658 here) and computed digests, all written
/// by four runs at once, twice: every run prints the same file as a run without a cache.
#[test]
fn four_concurrent_runs_on_one_cache_directory_print_the_same_file() {
    let (index, cache, expected) = md5_index_and_expected();
    assert!(expected.status.success(), "{}", text(&expected.stderr));
    for round in ["cold", "warm"] {
        let children: Vec<_> = (0..4).map(|_| generate_in(&index, cache.path()).spawn().unwrap()).collect();
        for child in children {
            let output = child.wait_with_output().unwrap();
            assert!(output.status.success(), "{round}: {}", text(&output.stderr));
            assert_eq!(text(&output.stdout), text(&expected.stdout), "{round}");
        }
    }
    assert_eq!(temp_files(cache.path()), Vec::<std::path::PathBuf>::new());
}

/// SIGKILL mid-run (its pages trickling in), plus what a killed writer can leave: an old temp
/// file and a young one, and a truncated entry. The next run uses or repairs all of it.
#[cfg(unix)]
#[test]
fn a_run_killed_mid_way_leaves_a_cache_the_next_run_uses() {
    use std::os::unix::process::ExitStatusExt;
    let (index, cache, expected) = md5_index_and_expected();

    index.configure(|c| c.trickle = Some(Duration::from_millis(2)));
    let mut child = generate_in(&index, cache.path()).spawn().unwrap();
    // Killed once the first page is stored, while the next one trickles in.
    let started = Instant::now();
    let page_dir = loop {
        let stored = std::fs::read_dir(cache.path().join("pages")).into_iter().flatten().flatten().map(|e| e.path());
        if let Some(dir) = stored.into_iter().find(|dir| dir.join("app.page").exists()) {
            break dir;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "no page stored");
        std::thread::sleep(Duration::from_millis(20));
    };
    child.kill().unwrap();
    assert_eq!(child.wait().unwrap().signal(), Some(9), "killed, not finished");
    index.configure(|c| c.trickle = None);
    let old_temp = page_dir.join(".tmpKilled");
    std::fs::write(&old_temp, "name app\nurl http://").unwrap();
    let old = std::time::SystemTime::now() - Duration::from_secs(2 * 60 * 60);
    std::fs::File::options().write(true).open(&old_temp).unwrap().set_modified(old).unwrap();
    let young_temp = page_dir.join(".tmpConcurrent");
    std::fs::write(&young_temp, "name lib\n").unwrap();
    std::fs::write(page_dir.join("lib.page"), "name lib\nurl http://127.0.0.1/simple/lib/\nformat json\nfi").unwrap();

    let output = generate_in(&index, cache.path()).output().unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(text(&output.stdout), text(&expected.stdout));
    assert!(!old_temp.exists(), "an hour-old temp file is removed");
    assert!(young_temp.exists(), "a young one may be another run's");
    let repaired = std::fs::read_to_string(page_dir.join("lib.page")).unwrap();
    assert!(repaired.lines().count() > 4, "the truncated page was fetched again:\n{repaired}");
}

// --- stale pages when the index is down ----------------------------------------------------------

/// Makes every page in the cache a day old (past any lifetime).
fn age_pages(cache: &std::path::Path) {
    let day_ago = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() - 86_400;
    for dir in std::fs::read_dir(cache.join("pages")).unwrap().flatten() {
        for page in std::fs::read_dir(dir.path()).unwrap().flatten() {
            let text = std::fs::read_to_string(page.path()).unwrap();
            let aged: Vec<String> = text
                .lines()
                .map(|line| if line.starts_with("fetched_at ") { format!("fetched_at {day_ago}") } else { line.into() })
                .collect();
            std::fs::write(page.path(), aged.join("\n") + "\n").unwrap();
        }
    }
}

#[test]
fn stale_pages_of_an_unreachable_index_are_refused_by_default_and_used_with_allow_stale() {
    let registry = tree();
    let index = IndexServer::start(registry.clone());
    let url = index.index_url();
    let cache = tempfile::tempdir().unwrap();
    let run = |extra: &[&str], out: &std::path::Path| {
        let mut command = support::hashlock();
        command.args([
            "generate",
            "app",
            "--index-url",
            &url,
            "--python-version",
            "3.11",
            "--python-platform",
            "linux",
        ]);
        command.arg("--cache-dir").arg(cache.path()).args(extra).arg("-o").arg(out).output().unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let fresh = dir.path().join("fresh.txt");
    assert!(run(&[], &fresh).status.success());
    drop(index);
    age_pages(cache.path());

    let refused = dir.path().join("refused.txt");
    let output = run(&[], &refused);
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with(&format!("hashlock: error: {url}/app/: ")), "{stderr}");
    assert!(stderr.contains("(after 4 attempts); a cached copy from ") && stderr.contains("--allow-stale"), "{stderr}");
    assert!(!refused.exists());

    let stale = dir.path().join("stale.txt");
    let output = run(&["--allow-stale"], &stale);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let (fresh, stale) = (LockFile::read(&fresh), LockFile::read(&stale));
    assert_eq!(stale.entries, fresh.entries);
    assert_eq!(stale.header.len(), 3, "{:?}", stale.header);
    let note = &stale.header[2];
    assert!(note.starts_with("# Stale (--allow-stale, the index was unreachable): app from "), "{note}");
    assert!(note.contains(&format!("; lib from {url}, fetched ")) && note.ends_with(" GMT"), "{note}");
    assert_eq!(text(&output.stderr).matches("used a stale cached page").count(), 2, "{}", text(&output.stderr));
}

// --- the numbers for the closing note ------------------------------------------------------------

/// Every scenario above once more, each run under `/usr/bin/time -v`: exit code, wall time,
/// peak RSS and whether the file was written. `cargo test --test hostile -- --ignored
/// --nocapture scenario_numbers`; `HASHLOCK_BIN` names another build (a release one) to time.
#[test]
#[ignore = "measurements, not checks"]
fn scenario_numbers() {
    let bin = std::env::var("HASHLOCK_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_hashlock").to_string());
    let dir = tempfile::tempdir().unwrap();
    let measure = |scenario: &str, index: &str, args: &[&str], cache: Option<&std::path::Path>| {
        let out = dir.path().join(format!("{}.txt", scenario.replace(' ', "-")));
        let mut command = std::process::Command::new("/usr/bin/time");
        support::without_pip_settings(&mut command).env_remove("HASHLOCK_CACHE_DIR");
        command.args(["-v", &bin, "generate", "--index-url", index, "--python-version", "3.11"]);
        command.args(["--python-platform", "linux"]).args(args).arg("-o").arg(&out);
        match cache {
            Some(cache) => command.arg("--cache-dir").arg(cache),
            None => command.arg("--no-cache"),
        };
        let output = command.output().unwrap();
        let stderr = text(&output.stderr);
        let field =
            |name: &str| stderr.lines().find_map(|l| l.trim().strip_prefix(name)).unwrap_or("?").trim().to_string();
        let first = stderr.lines().next().filter(|l| l.starts_with("hashlock")).unwrap_or("");
        println!(
            "| {scenario} | {} | {} | {} MB | {} | {} |",
            output.status.code().unwrap_or(-1),
            field("Elapsed (wall clock) time (h:mm:ss or m:ss):"),
            field("Maximum resident set size (kbytes):")
                .parse::<u64>()
                .map_or("?".into(), |kb| (kb / 1024).to_string()),
            if out.exists() { "yes" } else { "no" },
            first.chars().take(110).collect::<String>()
        );
    };
    println!(
        "| scenario | exit | wall | peak RSS | written | first stderr line |\n| --- | --- | --- | --- | --- | --- |"
    );
    for (name, published) in
        [("md5-only", Published::RealMd5), ("hashless", Published::None), ("wrong md5", Published::Md5Only)]
    {
        let index = IndexServer::start(publishing(tree(), published));
        measure(
            &format!("{name}, --compute-missing-hashes"),
            &index.index_url(),
            &["app", "--compute-missing-hashes"],
            None,
        );
        measure(&format!("{name}, without the flag"), &index.index_url(), &["app"], None);
    }
    let (primary, extra) = confused();
    for strategy in ["first-index", "unsafe-first-match", "unsafe-best-match"] {
        let args = ["app", "--extra-index-url", &extra.index_url(), "--index-strategy", strategy];
        measure(&format!("extra index with lib 9.0, {strategy}"), &primary.index_url(), &args, None);
    }
    let index = IndexServer::start(tree());
    index.configure(|c| c.trickle = Some(Duration::from_millis(200)));
    measure("page trickling a byte per 0.2 s, --timeout 3", &index.index_url(), &["app", "--timeout", "3"], None);
    let index = IndexServer::start(tree());
    index.configure(|c| c.throttle = Some(1));
    measure("429 with Retry-After: 1 on every first request", &index.index_url(), &["app"], None);
    for lying in [false, true] {
        for range in [true, false] {
            let mut registry = Registry::new();
            registry.add("bomb", File::new("bomb-1.0-py3-none-any.whl", "1.0", bomb_wheel(lying)));
            let index = IndexServer::start(registry);
            index.set_range(range);
            let what = format!(
                "METADATA inflating to 1 GiB, size {}, range requests {}",
                if lying { "hidden" } else { "declared" },
                if range { "on" } else { "off" }
            );
            measure(&what, &index.index_url(), &["bomb"], None);
        }
    }
    let mut registry = Registry::new();
    registry.add("bomb", File::new("bomb-1.0.tar.gz", "1.0", bomb_sdist()));
    let index = IndexServer::start(registry);
    measure("sdist PKG-INFO inflating to 1 GiB", &index.index_url(), &["bomb", "--no-build"], None);
    let index = IndexServer::start(tree());
    index.configure(|c| c.page_padding = 50 << 20);
    measure("50 MB page", &index.index_url(), &["app"], None);

    let index = IndexServer::start(tree());
    let cache = tempfile::tempdir().unwrap();
    measure("cache warm-up", &index.index_url(), &["app"], Some(cache.path()));
    let url = index.index_url();
    drop(index);
    age_pages(cache.path());
    measure("index down, stale cache", &url, &["app"], Some(cache.path()));
    measure("index down, stale cache, --allow-stale", &url, &["app", "--allow-stale"], Some(cache.path()));
}
