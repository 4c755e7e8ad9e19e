//! `hashlock report` on the hash shapes seen on real indexes: md5-only fragments, no hash at
//! all, sha512 only, mixed algorithms, two indexes disagreeing or listing different files of a
//! version, a yanked pin, an sdist-only package. Each shape gives its finding in every format;
//! JSON follows the README's schema; `--fail-on` decides the exit status.

mod support;

use std::collections::BTreeSet;

use support::{File, IndexServer, Published, Ran, Registry, Release, hashlock_at};

const FORMATS: [&str; 3] = ["text", "json", "markdown"];

/// Publishes every file of `release` with the hash shape `published`.
fn publish_as(registry: &mut Registry, release: &Release, published: Published) {
    for file in release.files() {
        registry.add(&release.name, file.publish(published));
    }
}

/// `app` needs one package of each shape:
/// - `weak`: md5 only (pip rejects it); `bare`: no hash at all;
/// - `long`: sha512 only (pip accepts it); `mixed`: one wheel sha256, the other sha512;
/// - `old==2.0`: a yanked version pinned exactly; `src`: only an sdist;
/// - `fine`: three wheels and an sdist, all sha256.
fn zoo() -> Registry {
    let mut registry = Registry::new().with([
        Release::new("app", "1.0").requires(&["weak", "bare", "long", "mixed", "old==2.0", "src", "fine"]),
        Release::new("old", "1.0"),
        Release::new("old", "2.0").yanked("broken metadata"),
        Release::new("src", "1.0").sdist_only(),
        Release::new("fine", "1.0")
            .wheels(&["cp311-cp311-manylinux_2_17_x86_64", "cp311-cp311-win_amd64", "cp311-cp311-macosx_11_0_arm64"])
            .with_sdist(),
    ]);
    publish_as(&mut registry, &Release::new("weak", "1.0"), Published::Md5Only);
    publish_as(&mut registry, &Release::new("bare", "1.0"), Published::None);
    publish_as(&mut registry, &Release::new("long", "1.0").with_sdist(), Published::Sha512Only);
    let mixed = Release::new("mixed", "1.0").wheels(&["py3-none-any", "py2-none-any"]).files();
    let [first, second] = <[File; 2]>::try_from(mixed).expect("two wheels");
    registry.add("mixed", first);
    registry.add("mixed", second.publish(Published::Sha512Only));
    registry
}

fn report(index_url: &str, args: &[&str]) -> Ran {
    Ran::of(&mut hashlock_at("report", index_url, args), &[])
}

/// The finding codes a rendered report lists, read the way each format marks them.
fn codes_named(format: &str, output: &str) -> BTreeSet<&'static str> {
    let marked = |code: &str| match format {
        "text" => format!("[{code}] "),
        "json" => format!("\"code\": \"{code}\""),
        _ => format!("- `{code}`"),
    };
    support::FINDING_CODES.into_iter().filter(|code| output.contains(&marked(code))).collect()
}

/// `(package or "", code)` of every finding in a JSON report.
fn json_findings(json: &serde_json::Value) -> BTreeSet<(String, String)> {
    let packages = json["packages"].as_array().into_iter().flatten().flat_map(|p| p["findings"].as_array()).flatten();
    packages
        .chain(json["findings"].as_array().into_iter().flatten())
        .map(|f| {
            (f["package"].as_str().unwrap_or_default().to_string(), f["code"].as_str().unwrap_or_default().to_string())
        })
        .collect()
}

#[test]
fn every_hash_shape_gives_its_finding_in_every_format() {
    let server = IndexServer::start(zoo());
    let url = server.index_url();
    let runs: Vec<(&str, Ran)> =
        FORMATS.iter().map(|format| (*format, report(&url, &["app", "--format", format]))).collect();
    let expected = BTreeSet::from(["missing-hash", "weak-hash-only", "mixed-algorithms", "yanked", "sdist-only"]);
    for (format, ran) in &runs {
        assert_eq!(ran.code, 1, "{format}: errors fail the run\n{}{}", ran.stdout, ran.stderr);
        assert_eq!(codes_named(format, &ran.stdout), expected, "{format}:\n{}", ran.stdout);
    }

    let json = runs[1].1.json();
    let again = report(&url, &["app", "--format", "json"]);
    assert_eq!(again.stdout, runs[1].1.stdout, "the same index gives the same report, byte for byte");
    let want: BTreeSet<(String, String)> = [
        ("bare", "missing-hash"),
        ("weak", "weak-hash-only"),
        ("mixed", "mixed-algorithms"),
        ("", "mixed-algorithms"),
        ("old", "yanked"),
        ("src", "sdist-only"),
    ]
    .iter()
    .map(|(p, c)| (p.to_string(), c.to_string()))
    .collect();
    assert_eq!(json_findings(&json), want, "sha512-only `long` and all-sha256 `fine` are fine for pip");
    let summary = &json["summary"];
    assert_eq!(summary["packages"], 8);
    assert_eq!(summary["files"], 13);
    assert_eq!(summary["files_without_hash"], 1);
    assert_eq!(summary["weak_only_files"], 1);
    assert_eq!(summary["yanked"], 1);
    assert_eq!(summary["sdist_only"], 1);
    assert_eq!(summary["require_hashes_feasible"], false);
    let long = json["packages"].as_array().unwrap().iter().find(|p| p["name"] == "long").unwrap();
    assert_eq!(long["algorithms"], serde_json::json!(["sha512"]));
    assert_eq!(long["target_file"], "wheel");

    insta::assert_snapshot!("zoo_text", runs[0].1.stdout);
    insta::assert_snapshot!("zoo_markdown", runs[2].1.stdout);
}

/// An index serving only HTML, whose links carry `#md5=` fragments: the shape old mirrors have.
#[test]
fn md5_fragments_on_an_html_index_are_weak_in_every_format() {
    let mut registry = Registry::new().with([Release::new("app", "1.0").requires(&["weak"])]);
    publish_as(&mut registry, &Release::new("weak", "1.0").with_sdist(), Published::Md5Only);
    let server = IndexServer::start(registry);
    server.set_json(false);
    for format in FORMATS {
        let ran = report(&server.index_url(), &["app", "--format", format]);
        assert_eq!(ran.code, 1, "{format}:\n{}{}", ran.stdout, ran.stderr);
        assert_eq!(codes_named(format, &ran.stdout), BTreeSet::from(["weak-hash-only"]), "{format}:\n{}", ran.stdout);
        if format == "json" {
            let json = ran.json();
            let weak = &json["packages"][1];
            assert_eq!(weak["name"], "weak");
            assert_eq!(weak["hash_sources"], serde_json::json!(["html-fragment"]));
            assert_eq!(weak["algorithms"], serde_json::json!(["md5"]));
            assert_eq!(json["summary"]["weak_only_files"], 2, "the wheel and the sdist");
            assert_eq!(json["summary"]["errors"], 2, "one finding per file");
        }
    }
}

/// `app` → `dup` on a primary index, and an extra index serving `dup`'s wheel under the same
/// filename with another sha256: one of them is lying.
fn disagreeing_indexes() -> (IndexServer, IndexServer) {
    let registry = Registry::new().with([Release::new("app", "1.0").requires(&["dup"]), Release::new("dup", "1.0")]);
    let mut other = Registry::new();
    publish_as(&mut other, &Release::new("dup", "1.0"), Published::WrongSha256);
    (IndexServer::start(registry), IndexServer::start(other))
}

#[test]
fn two_indexes_disagreeing_on_a_file_in_every_format() {
    let (primary, extra) = disagreeing_indexes();
    let wrong = "ab".repeat(32);
    for format in FORMATS {
        let ran = report(
            &primary.index_url(),
            &[
                "app",
                "--extra-index-url",
                &extra.index_url(),
                "--index-strategy",
                "unsafe-best-match",
                "--format",
                format,
            ],
        );
        assert_eq!(ran.code, 1, "{format}:\n{}{}", ran.stdout, ran.stderr);
        assert_eq!(
            codes_named(format, &ran.stdout),
            BTreeSet::from(["index-disagreement", "index-shadowing"]),
            "{format}:\n{}",
            ran.stdout
        );
        assert!(ran.stdout.contains("dup-1.0-py3-none-any.whl"), "names the file, {format}:\n{}", ran.stdout);
        assert!(ran.stdout.contains(&wrong), "shows the other digest, {format}:\n{}", ran.stdout);
        if format == "json" {
            let json = ran.json();
            assert_eq!(json["indexes"].as_array().map(Vec::len), Some(2));
            let want = ["index-disagreement", "index-shadowing"].map(|code| ("dup".to_string(), code.to_string()));
            assert_eq!(json_findings(&json), BTreeSet::from(want));
        }
    }
}

/// `generate` refuses to write a file that would let either index's bytes pass pip's check.
#[test]
fn generate_writes_nothing_when_indexes_disagree() {
    let (primary, extra) = disagreeing_indexes();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.txt");
    std::fs::write(&out, "previous\n").unwrap();
    let ran = Ran::of(
        support::generate(
            &primary.index_url(),
            &["app", "--extra-index-url", &extra.index_url(), "--index-strategy", "unsafe-best-match"],
        )
        .arg("-o")
        .arg(&out),
        &[],
    );
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    assert!(
        ran.stderr.contains("indexes disagree") && ran.stderr.contains("dup-1.0-py3-none-any.whl"),
        "{}",
        ran.stderr
    );
    assert!(ran.stderr.contains("no file written"), "{}", ran.stderr);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "previous\n");
}

/// `app` → `dup` on a primary index, and an extra index serving `dup` 1.0 as another build
/// (`dup-1.0-1-py3-none-any.whl`, a build tag), whose hash would pass pip's check beside the
/// real one's.
fn another_build_on_an_extra_index() -> (IndexServer, IndexServer) {
    let registry = Registry::new().with([Release::new("app", "1.0").requires(&["dup"]), Release::new("dup", "1.0")]);
    let extra = Registry::new().with([Release::new("dup", "1.0").wheels(&["1-py3-none-any"]).payload(64)]);
    (IndexServer::start(registry), IndexServer::start(extra))
}

#[test]
fn a_version_whose_files_come_from_two_indexes_is_refused() {
    let (primary, extra) = another_build_on_an_extra_index();
    let indexes = ["--extra-index-url", &extra.index_url(), "--index-strategy", "unsafe-best-match"];
    let named_in_stderr = |text: &str| {
        text.contains(&primary.index_url())
            && text.contains(&extra.index_url())
            && text.contains("dup-1.0-py3-none-any.whl")
            && text.contains("dup-1.0-1-py3-none-any.whl")
    };
    for format in FORMATS {
        let ran = report(&primary.index_url(), &[&["app", "--format", format], &indexes[..]].concat());
        assert_eq!(ran.code, 1, "{format}:\n{}{}", ran.stdout, ran.stderr);
        let codes = BTreeSet::from(["mixed-indexes", "index-shadowing"]);
        assert_eq!(codes_named(format, &ran.stdout), codes, "{format}:\n{}", ran.stdout);
        if format == "json" {
            let json = ran.json();
            let want = ["mixed-indexes", "index-shadowing"].map(|code| ("dup".to_string(), code.to_string()));
            assert_eq!(json_findings(&json), BTreeSet::from(want));
            let findings = json["packages"][1]["findings"].as_array().unwrap();
            let mixed = findings.iter().find(|f| f["code"] == "mixed-indexes").unwrap();
            let message = mixed["message"].as_str().unwrap_or_default();
            // Ports read PORT in stdout; the primary comes first.
            let each = "http://127.0.0.1:PORT/simple lists dup-1.0-py3-none-any.whl; \
                        http://127.0.0.1:PORT/simple lists dup-1.0-1-py3-none-any.whl";
            assert!(message.ends_with(each), "names both indexes and what each lists: {message}");
        }
    }

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.txt");
    std::fs::write(&out, "previous\n").unwrap();
    let ran =
        Ran::of(support::generate(&primary.index_url(), &[&["app"], &indexes[..], &["-o"]].concat()).arg(&out), &[]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    assert!(named_in_stderr(&ran.stderr), "{}", ran.stderr);
    assert!(ran.stderr.contains("no file written"), "{}", ran.stderr);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "previous\n");

    // A file that already carries both builds' hashes fails its audit, at the line of the pin.
    let both: Vec<String> = [primary.registry(), extra.registry()]
        .iter()
        .flat_map(|registry| registry.sha256s("dup", "1.0"))
        .map(|hex| format!(" --hash=sha256:{hex}"))
        .collect();
    let audited = dir.path().join("requirements.txt");
    std::fs::write(&audited, format!("dup==1.0{}\n", both.concat())).unwrap();
    let ran =
        Ran::of(hashlock_at("audit", &primary.index_url(), &indexes).arg(&audited).args(["--format", "json"]), &[]);
    assert_eq!(ran.code, 1, "{}{}", ran.stdout, ran.stderr);
    let finding = &ran.json()["packages"][0]["findings"][0];
    assert_eq!(finding["code"], "mixed-indexes", "{}", ran.stdout);
    assert!(finding["location"].as_str().is_some_and(|at| at.ends_with("requirements.txt:1")), "{finding}");
}

/// An extra index listing the same files with the same hashes (a mirror) gives no finding.
#[test]
fn a_mirror_with_the_same_files_is_not_mixed() {
    let registry = Registry::new().with([Release::new("app", "1.0").requires(&["dup"]), Release::new("dup", "1.0")]);
    let (primary, mirror) = (IndexServer::start(registry.clone()), IndexServer::start(registry));
    let ran =
        Ran::of(&mut support::generate(&primary.index_url(), &["app", "--extra-index-url", &mirror.index_url()]), &[]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(ran.stdout.contains("dup==1.0"), "{}", ran.stdout);
}

/// Info findings pass by default, warnings fail by default, errors always fail unless nothing does.
#[test]
fn fail_on_sets_which_severity_fails() {
    let info = {
        let mut registry = Registry::new().with([Release::new("app", "1.0").requires(&["long"])]);
        publish_as(&mut registry, &Release::new("long", "1.0"), Published::Sha512Only);
        registry
    };
    let warning =
        Registry::new().with([Release::new("app", "1.0").requires(&["src"]), Release::new("src", "1.0").sdist_only()]);
    let error = {
        let mut registry = Registry::new().with([Release::new("app", "1.0").requires(&["bare"])]);
        publish_as(&mut registry, &Release::new("bare", "1.0"), Published::None);
        registry
    };
    let clean = Registry::new().with([Release::new("app", "1.0")]);
    //            worst finding       default  --fail-on error  --fail-on warning  --fail-on info
    let cases = [
        ("none", clean, [0, 0, 0, 0]),
        ("info", info, [0, 0, 0, 1]),
        ("warning", warning, [1, 0, 1, 1]),
        ("error", error, [1, 1, 1, 1]),
    ];
    for (worst, registry, codes) in cases {
        let server = IndexServer::start(registry);
        let url = server.index_url();
        let fail_on: [&[&str]; 4] = [&[], &["--fail-on", "error"], &["--fail-on", "warning"], &["--fail-on", "info"]];
        for (flags, code) in fail_on.iter().zip(codes) {
            let ran = report(&url, &[&["app", "--format", "json"], *flags].concat());
            assert_eq!(ran.code, code, "worst finding {worst}, flags {flags:?}:\n{}{}", ran.stdout, ran.stderr);
            let json = ran.json();
            assert_eq!(json["summary"]["require_hashes_feasible"], worst != "error", "{worst}");
        }
    }
}

/// A yanked reason is the index's text: ANSI escapes, a line break and Markdown in it must not
/// clear the screen, forge a verdict on a line of its own or break out of the report's markup.
#[test]
fn index_text_in_a_report_is_escaped_in_every_human_format() {
    let reason = "\x1b[2J\x1b[32mok\nAll clear: no findings.\u{2028}\x1b[0m | <b>x</b>";
    let server = IndexServer::start(Registry::new().with([Release::new("old", "1.0").yanked(reason)]));
    for format in ["text", "markdown"] {
        let ran = report(&server.index_url(), &["old==1.0", "--format", format]);
        assert_eq!(ran.code, 1, "{format}: a yanked pin is a warning\n{}{}", ran.stdout, ran.stderr);
        assert!(
            !ran.stdout.contains(['\x1b', '\u{2028}']),
            "{format}: control characters reach the report:\n{}",
            ran.stdout
        );
        assert!(
            !ran.stdout.lines().any(|line| line.starts_with("All clear")),
            "{format}: the index's text forges a verdict line:\n{}",
            ran.stdout
        );
        insta::assert_snapshot!(format!("hostile_yanked_reason_{format}"), ran.stdout);
    }
    let json = report(&server.index_url(), &["old==1.0", "--format", "json"]).json();
    let message = json["packages"][0]["findings"][0]["message"].as_str().unwrap().to_string();
    assert_eq!(message, format!("old 1.0 is yanked: {reason}"), "JSON keeps the text exactly, escaped by serde");
}
