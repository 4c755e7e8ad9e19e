//! PEP 740 provenance through the index client: the loopback index lists each file's provenance
//! URL (JSON and HTML pages) and serves the real attestations of `tests/fixtures/provenance/`;
//! hashlock fetches them on its I/O pool, caches them by the file's sha256, reads 404 and `null`
//! as none, and reports a body it cannot read as an error naming the URL.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use hashlock::dist::DistFile;
use hashlock::index::IndexClient;
use hashlock::index::cache::{Cache, Freshness};
use hashlock::index::http::{HttpClient, HttpOptions};
use hashlock::index::provenance::{
    Attestation, AttestationVerifier, Fetched, FileProvenance, Provenance, Publisher, Subject, judge,
};
use hashlock::resolve::Source;
use hashlock::resolve::source::IndexSource;
use hashlock::target::Target;
use pep508_rs::PackageName;
use reqwest::Url;
use support::provenance::{Attested, published, registry, staging};
use support::{File, IndexServer, sha256_hex};

/// A run of hashlock against `server`: a fresh client (with `cache_dir`, if any) and source.
fn source(server: &IndexServer, cache_dir: Option<&Path>) -> IndexSource {
    let http = HttpClient::new(HttpOptions::default()).expect("an HTTP client");
    let cache = cache_dir.map(|dir| Cache::new(dir.to_path_buf(), Freshness::Normal));
    let client = IndexClient::new(http, vec![Url::parse(&server.index_url()).expect("a URL")], cache);
    let target = Target::from_options(Some("3.11"), Some("linux")).expect("a target");
    IndexSource::new(Arc::new(client), target, 4)
}

/// The file as the index lists it.
fn listed(source: &IndexSource, project: &str, filename: &str) -> DistFile {
    let project = source.project(&PackageName::from_str(project).expect("a name")).expect("the page");
    let file = project.files().find(|file| file.filename == filename).cloned();
    file.unwrap_or_else(|| panic!("{filename} is not on the page"))
}

/// Every file's provenance, all asked for at once (on the pool), then collected.
fn fetch_all(source: &IndexSource, attested: &[Attested]) -> Vec<(DistFile, Fetched)> {
    let files: Vec<DistFile> = attested.iter().map(|a| listed(source, a.project, a.filename)).collect();
    for file in &files {
        source.prefetch_provenance(file);
    }
    files
        .into_iter()
        .map(|file| {
            let fetched = source.provenance(&file);
            (file, fetched)
        })
        .collect()
}

fn provenance_requests(server: &IndexServer) -> usize {
    server.log().iter().filter(|request| request.path.ends_with(".provenance")).count()
}

fn as_json(provenance: &Provenance) -> serde_json::Value {
    serde_json::to_value(provenance).expect("serialisable")
}

/// Accepts every attestation, recording what the seam handed it.
#[derive(Default)]
struct Recording(Mutex<Vec<(String, String, String)>>);

impl AttestationVerifier for Recording {
    fn verify(&self, _: &Attestation, publisher: &Publisher, subject: &Subject<'_>) -> Result<(), String> {
        let seen = (publisher.kind.clone(), subject.filename.to_string(), subject.sha256.to_string());
        self.0.lock().expect("not poisoned").push(seen);
        Ok(())
    }
}

#[test]
fn json_and_html_pages_list_each_files_provenance_which_is_fetched_as_served() {
    let attested: Vec<Attested> = published().into_iter().chain([staging()]).collect();
    let server = IndexServer::start(registry(&attested));
    for json in [true, false] {
        server.set_json(json);
        let source = source(&server, None);
        let fetched = fetch_all(&source, &attested);
        for ((file, fetched), expected) in fetched.iter().zip(&attested) {
            let what = format!("{} (JSON pages: {json})", expected.filename);
            assert_eq!(file.provenance.as_deref(), Some(server.provenance_url(expected.filename).as_str()), "{what}");
            let provenance = fetched.as_ref().unwrap_or_else(|e| panic!("{what}: {e}")).as_ref();
            let provenance = provenance.unwrap_or_else(|| panic!("{what}: none"));
            assert_eq!(as_json(provenance), expected.provenance, "{what}: read whole, as served");
        }
    }
    let asked = server.log().into_iter().filter(|request| request.path.ends_with(".provenance"));
    for request in asked {
        assert_eq!(request.accept.as_deref(), Some("application/vnd.pypi.integrity.v1+json"), "{}", request.path);
    }
}

/// What the verification step is handed: each bundle's publisher as the index claims it, and
/// the file as the index lists it, with the sha256 the index publishes for its bytes.
#[test]
fn the_verification_seam_gets_the_listed_file_and_the_claimed_publisher() {
    let attested = published();
    let server = IndexServer::start(registry(&attested));
    let source = source(&server, None);
    let verifier = Recording::default();
    for ((file, fetched), expected) in fetch_all(&source, &attested).iter().zip(&attested) {
        let FileProvenance::Verified { publishers } = judge(file, fetched, &verifier) else {
            panic!("{}: not verified by a verifier that accepts everything", expected.filename)
        };
        let publishers: Vec<serde_json::Value> =
            publishers.iter().map(|p| serde_json::to_value(p).expect("JSON")).collect();
        assert_eq!(publishers, [expected.publisher().clone()], "{}", expected.filename);
    }
    let kinds_and_subjects: Vec<(String, String, String)> = attested
        .iter()
        .map(|a| {
            let kind = a.publisher()["kind"].as_str().expect("a kind").to_string();
            (kind, a.filename.to_string(), sha256_hex(&a.bytes))
        })
        .collect();
    assert_eq!(*verifier.0.lock().expect("not poisoned"), kinds_and_subjects);
}

#[test]
fn the_switch_omits_provenance_from_pages_and_index() {
    let attested = published();
    let server = IndexServer::start(registry(&attested));
    server.set_provenance(false);
    for json in [true, false] {
        server.set_json(json);
        let source = source(&server, None);
        for (file, fetched) in fetch_all(&source, &attested) {
            assert_eq!(file.provenance, None, "{}", file.filename);
            assert!(matches!(fetched, Ok(None)), "{}: {fetched:?}", file.filename);
            assert_eq!(judge(&file, &fetched, &Recording::default()), FileProvenance::Absent);
        }
    }
    assert_eq!(provenance_requests(&server), 0, "nothing listed, nothing asked");
}

#[test]
fn a_listed_provenance_the_index_no_longer_serves_is_none() {
    let attested = published();
    let server = IndexServer::start(registry(&attested));
    let source = source(&server, None);
    let files: Vec<DistFile> = attested.iter().map(|a| listed(&source, a.project, a.filename)).collect();
    // The pages were read while provenance was listed; now its URLs answer 404.
    server.set_provenance(false);
    for file in &files {
        assert!(file.provenance.is_some());
        assert!(matches!(source.provenance(file), Ok(None)), "{}", file.filename);
    }
    assert_eq!(provenance_requests(&server), files.len());
}

#[test]
fn cached_by_the_files_sha256_so_a_second_run_does_not_fetch_again() {
    let attested = published();
    let server = IndexServer::start(registry(&attested));
    let dir = tempfile::tempdir().expect("a temporary directory");
    let first: Vec<_> = fetch_all(&source(&server, Some(dir.path())), &attested);
    assert_eq!(provenance_requests(&server), attested.len());
    for one in &attested {
        let entry = dir.path().join("provenance").join(format!("{}.json", sha256_hex(&one.bytes)));
        assert!(entry.exists(), "{}", entry.display());
    }
    let second = fetch_all(&source(&server, Some(dir.path())), &attested);
    assert_eq!(provenance_requests(&server), attested.len(), "the second run asked for none");
    for ((_, before), (file, after)) in first.iter().zip(&second) {
        let (before, after) = (before.as_ref().expect("fetched"), after.as_ref().expect("cached"));
        assert_eq!(before, after, "{}", file.filename);
    }
}

#[test]
fn null_is_none_and_an_unreadable_or_oversized_body_is_an_error_naming_the_url() {
    let server = IndexServer::start(support::Registry::new());
    let bodies: [(&str, Vec<u8>); 3] = [
        ("null", b"null".to_vec()),
        ("garbage", b"<html><body>Please log in</body></html>".to_vec()),
        ("oversized", format!("{{\"version\": 1, \"pad\": \"{}\"}}", "x".repeat(2 << 20)).into_bytes()),
    ];
    for (project, body) in &bodies {
        let filename = format!("{project}-1.0.tar.gz");
        server.add_file(project, File::new(&filename, "1.0", b"bytes".to_vec()).with_provenance(body.clone()));
    }
    let source = source(&server, None);
    let fetched = |project: &str| source.provenance(&listed(&source, project, &format!("{project}-1.0.tar.gz")));
    assert!(matches!(fetched("null"), Ok(None)));
    let garbage = fetched("garbage").expect_err("not a provenance object").to_string();
    let url = server.provenance_url("garbage-1.0.tar.gz");
    assert!(garbage.starts_with(&format!("{url}: not a provenance object: ")), "{garbage}");
    let oversized = fetched("oversized").expect_err("too large").to_string();
    let url = server.provenance_url("oversized-1.0.tar.gz");
    assert_eq!(oversized, format!("{url}: the response is larger than 1 MiB, refused"));
    let FileProvenance::Invalid { reason } =
        judge(&listed(&source, "garbage", "garbage-1.0.tar.gz"), &fetched("garbage"), &Recording::default())
    else {
        panic!("a provenance that cannot be read is invalid")
    };
    assert_eq!(reason, garbage, "the verification step reports the fetch error as the reason");
}

/// Sigstore's checks and hashlock's, end to end: the four files published by Trusted Publishers
/// verify and name their publishers; the staging-made one does not verify against the
/// public-good root; a claim naming another repository is refused.
#[test]
fn the_sigstore_verifier_accepts_the_published_and_refuses_staging_and_false_claims() {
    use hashlock::check::provenance::{SigstoreVerifier, TrustedRoot};
    let root = TrustedRoot::public_good().expect("the embedded root");
    let verifier = SigstoreVerifier { root: &root };
    let mut attested: Vec<Attested> = published().into_iter().collect();
    attested.push(staging());
    let mut false_claim = support::provenance::github();
    false_claim.provenance["attestation_bundles"][0]["publisher"]["repository"] = "someone/else".into();
    let server = IndexServer::start(registry(&attested));
    let index = source(&server, None);
    let verdicts: Vec<(String, FileProvenance)> = fetch_all(&index, &attested)
        .iter()
        .map(|(file, fetched)| (file.filename.clone(), judge(file, fetched, &verifier)))
        .collect();
    let kinds: Vec<(&str, Option<String>)> = verdicts
        .iter()
        .map(|(filename, verdict)| {
            let kind = match verdict {
                FileProvenance::Verified { publishers } => Some(publishers[0].kind.clone()),
                _ => None,
            };
            (filename.as_str(), kind)
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("pypi_attestations-0.0.19.tar.gz", Some("GitHub".to_string())),
            ("gitlab_oidc_project-0.0.3.tar.gz", Some("GitLab".to_string())),
            ("gcb_attestation_test-0.0.0.tar.gz", Some("Google".to_string())),
            ("circleci_sign_publish_example-0.0.1.dev137-py3-none-any.whl", Some("CircleCI".to_string())),
            ("rfc8785-0.1.2-py3-none-any.whl", None),
        ]
    );

    let server = IndexServer::start(registry(std::slice::from_ref(&false_claim)));
    let index = source(&server, None);
    let (file, fetched) = fetch_all(&index, std::slice::from_ref(&false_claim)).remove(0);
    let FileProvenance::Invalid { reason } = judge(&file, &fetched, &verifier) else {
        panic!("a false claim verified")
    };
    assert!(reason.contains("not the publisher the index claims"), "{reason}");
}

// --- the commands: report, generate -o pylock.toml, audit ------------------------------------

/// The four published projects, beside stand-ins (no provenance) for what pypi-attestations
/// depends on.
fn published_index() -> IndexServer {
    IndexServer::start(with_stand_ins(registry(&published())))
}

fn with_stand_ins(mut registry: support::Registry) -> support::Registry {
    for (name, version) in [
        ("cryptography", "44.0.0"),
        ("packaging", "24.2"),
        ("pyasn1", "0.6.1"),
        ("pydantic", "2.10.0"),
        ("sigstore", "3.5.3"),
        ("sigstore-protobuf-specs", "0.3.2"),
    ] {
        registry.publish(&support::Release::new(name, version));
    }
    registry
}

const PUBLISHED: [&str; 4] = [
    "pypi-attestations==0.0.19",
    "gitlab-oidc-project==0.0.3",
    "gcb-attestation-test==0.0.0",
    "circleci-sign-publish-example==0.0.1.dev137",
];

fn report(server: &IndexServer, requirements: &[&str], args: &[&str]) -> (i32, serde_json::Value, String) {
    let mut command = support::hashlock();
    command.args(["report", "--index-url", &server.index_url(), "--python-version", "3.11"]);
    command.args(["--python-platform", "linux", "--no-cache", "--format", "json"]).args(args).args(requirements);
    let output = command.output().expect("hashlock runs");
    let json = serde_json::from_slice(&output.stdout).unwrap_or(serde_json::Value::Null);
    (output.status.code().unwrap_or(-1), json, String::from_utf8_lossy(&output.stderr).into_owned())
}

/// Base64 text with its middle digit changed: still base64, other bytes.
fn one_digit_changed(text: &str) -> String {
    let middle = text.len() / 2;
    let swapped = if &text[middle..=middle] == "A" { "B" } else { "A" };
    format!("{}{swapped}{}", &text[..middle], &text[middle + 1..])
}

/// Each file's `provenance` in a JSON report, by filename.
fn provenance_by_file(report: &serde_json::Value) -> BTreeMap<String, serde_json::Value> {
    let packages = report["packages"].as_array().expect("packages");
    let files = packages.iter().flat_map(|p| p["files"].as_array().expect("files"));
    files.map(|f| (f["filename"].as_str().expect("a filename").to_string(), f["provenance"].clone())).collect()
}

fn codes(report: &serde_json::Value) -> BTreeSet<String> {
    let packages = report["packages"].as_array().expect("packages");
    let findings = packages
        .iter()
        .flat_map(|p| p["findings"].as_array().expect("findings"))
        .chain(report["findings"].as_array().expect("findings"));
    findings.map(|f| f["code"].as_str().expect("a code").to_string()).collect()
}

#[test]
fn report_marks_every_published_file_verified_with_its_publisher() {
    let server = published_index();
    let (code, json, stderr) = report(&server, &PUBLISHED, &["--fail-on", "error"]);
    assert_eq!(code, 0, "{stderr}\n{json:#}");
    let provenance = provenance_by_file(&json);
    for attested in published() {
        let verdict = &provenance[attested.filename];
        assert_eq!(verdict["status"], "verified", "{}: {verdict}", attested.filename);
        assert_eq!(&verdict["publisher"], attested.publisher(), "{}", attested.filename);
    }
    let github = json["packages"].as_array().unwrap().iter().find(|p| p["name"] == "pypi-attestations").unwrap();
    assert_eq!(github["publishers"][0]["repository"], "trailofbits/pypi-attestations");
    assert_eq!(provenance["sigstore-3.5.3-py3-none-any.whl"], serde_json::json!({"status": "absent"}));
    assert_eq!(json["summary"]["files_with_verified_provenance"], 4);
    let found = codes(&json);
    assert!(found.contains("sdist-only") && found.contains("provenance-missing"), "{found:?}");
    assert!(!found.contains("provenance-invalid"), "{found:?}");
}

/// An attestation that does not verify is an error: one made on Sigstore's staging instance,
/// and each of the four with one byte of its signature changed.
#[test]
fn staging_made_and_altered_attestations_are_invalid() {
    let altered: Vec<Attested> = published()
        .into_iter()
        .map(|mut attested| {
            let envelope = &mut attested.provenance["attestation_bundles"][0]["attestations"][0]["envelope"];
            envelope["signature"] = one_digit_changed(envelope["signature"].as_str().expect("a signature")).into();
            attested
        })
        .collect();
    let server = IndexServer::start(registry(&[staging()]));
    let (code, json, stderr) = report(&server, &["rfc8785==0.1.2"], &[]);
    assert_eq!(code, 1, "{stderr}\n{json:#}");
    let verdict = &provenance_by_file(&json)["rfc8785-0.1.2-py3-none-any.whl"];
    assert_eq!(verdict["status"], "invalid", "{verdict}");
    assert!(verdict["reason"].as_str().is_some_and(|r| !r.is_empty()), "{verdict}");
    assert!(codes(&json).contains("provenance-invalid"));
    assert_eq!(json["summary"]["require_hashes_feasible"], true, "pip checks hashes, not attestations");
    assert_eq!(json["summary"]["errors"], 1);

    let server = IndexServer::start(with_stand_ins(registry(&altered)));
    let (code, json, stderr) = report(&server, &PUBLISHED, &[]);
    assert_eq!(code, 1, "{stderr}");
    let provenance = provenance_by_file(&json);
    for attested in &altered {
        assert_eq!(provenance[attested.filename]["status"], "invalid", "{}", attested.filename);
    }
    assert_eq!(json["summary"]["files_with_verified_provenance"], 0);
}

#[test]
fn require_provenance_fails_where_the_index_serves_none() {
    let server = published_index();
    server.set_provenance(false);
    let (code, json, stderr) = report(&server, &["gcb-attestation-test==0.0.0"], &["--fail-on", "error"]);
    assert_eq!(code, 0, "without --require-provenance, a missing one is an info: {stderr}");
    assert_eq!(provenance_by_file(&json)["gcb_attestation_test-0.0.0.tar.gz"]["status"], "absent");
    let (code, json, _) =
        report(&server, &["gcb-attestation-test==0.0.0"], &["--fail-on", "error", "--require-provenance"]);
    assert_eq!(code, 1);
    let missing = json["findings"].as_array().unwrap().iter().find(|f| f["code"] == "provenance-missing").unwrap();
    assert_eq!(missing["severity"], "error");

    let out = tempfile::tempdir().unwrap();
    let written = out.path().join("requirements.txt");
    let refused =
        support::generate(&server.index_url(), &["gcb-attestation-test==0.0.0", "--require-provenance", "-o"])
            .arg(&written)
            .output()
            .expect("hashlock runs");
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("[provenance-missing]"));
    assert!(!written.exists(), "nothing written");
}

/// A release without provenance after one published with it: the pattern of an upload made
/// with a stolen token.
#[test]
fn a_release_without_the_provenance_of_the_one_before_is_dropped() {
    let mut registry = registry(&[support::provenance::google()]);
    registry.publish(&support::Release::new("gcb-attestation-test", "0.0.1").sdist_only());
    let server = IndexServer::start(registry);
    let (code, json, stderr) = report(&server, &["gcb-attestation-test"], &[]);
    assert_eq!(code, 1, "a warning fails the default --fail-on: {stderr}");
    let dropped =
        json["packages"][0]["findings"].as_array().unwrap().iter().find(|f| f["code"] == "provenance-dropped");
    let message = dropped.expect("provenance-dropped")["message"].as_str().unwrap();
    assert!(message.contains("0.0.0 was published with verified provenance by Google"), "{message}");
}

#[test]
fn a_pylock_records_the_publishers_and_audit_refuses_swapped_ones() {
    let server = published_index();
    let dir = tempfile::tempdir().unwrap();
    let lock = dir.path().join("pylock.toml");
    let mut generate = support::generate(&server.index_url(), &PUBLISHED);
    generate.arg("-o").arg(&lock).assert().success();
    let text = std::fs::read_to_string(&lock).unwrap();
    let identities: toml::Table = toml::from_str(&text).unwrap();
    let recorded: BTreeMap<String, toml::Value> = identities["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| Some((p["name"].as_str()?.to_string(), p.get("attestation-identities")?.clone())))
        .collect();
    assert_eq!(
        recorded.keys().map(String::as_str).collect::<Vec<_>>(),
        ["circleci-sign-publish-example", "gcb-attestation-test", "gitlab-oidc-project", "pypi-attestations"],
        "the four, and none of the stand-ins without provenance"
    );
    let github = recorded["pypi-attestations"].as_array().unwrap()[0].as_table().unwrap().clone();
    assert_eq!(github["kind"].as_str(), Some("GitHub"));
    assert_eq!(github["repository"].as_str(), Some("trailofbits/pypi-attestations"));
    assert_eq!(github["workflow"].as_str(), Some("release.yml"));
    assert!(!github.contains_key("environment"), "a null is not written");

    let audit = |path: &Path| {
        let mut command = support::hashlock();
        command.args(["audit", "--index-url", &server.index_url(), "--no-cache", "--fail-on", "error"]).arg(path);
        command.output().expect("hashlock runs")
    };
    let passed = audit(&lock);
    assert_eq!(passed.status.code(), Some(0), "{}", String::from_utf8_lossy(&passed.stdout));

    // The GitHub and GitLab packages' identities swapped.
    let github_table = "[[packages.attestation-identities]]\nkind = \"GitHub\"\nrepository = \"trailofbits/pypi-attestations\"\nworkflow = \"release.yml\"\n";
    let gitlab_table = "[[packages.attestation-identities]]\nkind = \"GitLab\"\nrepository = \"facutuesca/gitlab-oidc-project\"\nworkflow_filepath = \".gitlab-ci.yml\"\n";
    assert!(text.contains(github_table) && text.contains(gitlab_table), "{text}");
    let swapped =
        text.replace(github_table, "@GITHUB@").replace(gitlab_table, github_table).replace("@GITHUB@", gitlab_table);
    let tampered = dir.path().join("pylock.swapped.toml");
    std::fs::write(&tampered, swapped).unwrap();
    let failed = audit(&tampered);
    let stdout = String::from_utf8_lossy(&failed.stdout);
    assert_eq!(failed.status.code(), Some(1), "{stdout}");
    assert_eq!(stdout.matches("[publisher-mismatch]").count(), 2, "{stdout}");
    assert!(
        stdout.contains("pypi_attestations-0.0.19.tar.gz is published by GitHub trailofbits/pypi-attestations (release.yml), and the lock admits only GitLab facutuesca/gitlab-oidc-project (.gitlab-ci.yml)"),
        "{stdout}"
    );
}

/// `--trusted-root` replaces the embedded root: with Sigstore's staging root the staging-made
/// attestation passes Sigstore's checks and stops at hashlock's publisher check (it names a
/// person, not a Trusted Publisher); a root that cannot be read is a one-line error, exit 2.
#[test]
fn the_trusted_root_can_be_replaced() {
    let server = IndexServer::start(registry(&[staging()]));
    let reason = |args: &[&str]| {
        let (code, json, stderr) = report(&server, &["rfc8785==0.1.2"], args);
        assert_eq!(code, 1, "{stderr}");
        let verdict = &provenance_by_file(&json)["rfc8785-0.1.2-py3-none-any.whl"];
        assert_eq!(verdict["status"], "invalid");
        verdict["reason"].as_str().expect("a reason").to_string()
    };
    let public_good = reason(&[]);
    let dir = tempfile::tempdir().unwrap();
    let staging_root = dir.path().join("trusted_root.json");
    std::fs::write(&staging_root, sigstore_verify::trust_root::SIGSTORE_STAGING_TRUSTED_ROOT).unwrap();
    let with_staging = reason(&["--trusted-root", staging_root.to_str().unwrap()]);
    assert!(with_staging.starts_with("no Trusted Publisher is issued by"), "{with_staging}");
    assert!(!public_good.starts_with("no Trusted Publisher"), "the public-good root refuses it earlier: {public_good}");

    for (name, contents) in [("missing.json", None), ("garbage.json", Some("{\"mediaType\": 1"))] {
        let path = dir.path().join(name);
        if let Some(contents) = contents {
            std::fs::write(&path, contents).unwrap();
        }
        let (code, _, stderr) = report(&server, &["rfc8785==0.1.2"], &["--trusted-root", path.to_str().unwrap()]);
        assert_eq!(code, 2, "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains(name), "{stderr}");
    }
}

/// Every attestation of a bundle must verify: the publish attestation and the SLSA provenance
/// beside it; one changed byte in the second is enough to refuse the file.
#[test]
fn every_attestation_of_a_bundle_is_verified() {
    let both = support::provenance::github_with_slsa();
    let server = IndexServer::start(with_stand_ins(registry(std::slice::from_ref(&both))));
    let (code, json, stderr) = report(&server, &["pypi-attestations==0.0.19"], &["--fail-on", "error"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(provenance_by_file(&json)["pypi_attestations-0.0.19.tar.gz"]["status"], "verified");

    let mut altered = both;
    let statement = &mut altered.provenance["attestation_bundles"][0]["attestations"][1]["envelope"]["statement"];
    *statement = one_digit_changed(statement.as_str().expect("a statement")).into();
    let server = IndexServer::start(with_stand_ins(registry(&[altered])));
    let (code, json, _) = report(&server, &["pypi-attestations==0.0.19"], &["--fail-on", "error"]);
    assert_eq!(code, 1);
    assert_eq!(provenance_by_file(&json)["pypi_attestations-0.0.19.tar.gz"]["status"], "invalid");
}
