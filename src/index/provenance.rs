//! PEP 740 provenance: the object an index serves for a file (its Trusted Publisher and the
//! Sigstore attestations it uploaded), fetched through the index client and cached by the
//! file's sha256; and the seam where the cryptographic check of each attestation plugs in
//! ([`AttestationVerifier`], [`judge`]).

use std::sync::Arc;

use reqwest::Url;
use serde::{Deserialize, Serialize};

use crate::dist::{DistFile, is_sha256_hex};
use crate::index::IndexClient;
use crate::index::http::{HttpError, RequestKind, redact, redact_text};

/// The `Accept` header for provenance objects (PEP 740's integrity API media type).
pub const ACCEPT: &str = "application/vnd.pypi.integrity.v1+json";

/// Largest provenance object hashlock reads: real ones are a few KiB per attestation, so a body
/// beyond this is not one.
pub const MAX_PROVENANCE_SIZE: u64 = 1024 * 1024;

/// A provenance object (version 1). Unknown keys are ignored, as the PEP allows them.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub struct Provenance {
    pub version: u64,
    pub attestation_bundles: Vec<AttestationBundle>,
}

/// The attestations one signing identity made for the file.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub struct AttestationBundle {
    pub publisher: Publisher,
    pub attestations: Vec<Attestation>,
}

/// The Trusted Publisher as the index describes it: `kind` (`GitHub`, `GitLab`, `Google`,
/// `CircleCI`, ...) and keys that depend on the kind (`repository`, `workflow`, `environment`,
/// `email`, `claims`, ...). It is the index's claim: an attestation's certificate must back it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub struct Publisher {
    pub kind: String,
    #[serde(flatten)]
    pub keys: serde_json::Map<String, serde_json::Value>,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub struct Attestation {
    /// 1 is the only version; a verifier rejects any other.
    pub version: u64,
    pub verification_material: VerificationMaterial,
    pub envelope: Envelope,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub struct VerificationMaterial {
    /// `base64(DER(certificate))`: the short-lived Sigstore signing certificate.
    pub certificate: String,
    /// Sigstore transparency log entries, kept as the index gives them: the Sigstore bundle the
    /// verifier builds takes them as they are.
    pub transparency_entries: Vec<serde_json::Value>,
    /// Base64 RFC 3161 timestamp responses, when the signer got any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub timestamps: Vec<String>,
}

/// A DSSE envelope: the in-toto statement and the signature over it, both base64.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub struct Envelope {
    pub statement: String,
    pub signature: String,
}

/// Reads a provenance object; JSON `null` is none. The error is one line.
pub fn parse(body: &[u8]) -> Result<Option<Provenance>, String> {
    let provenance: Option<Provenance> =
        serde_json::from_slice(body).map_err(|e| format!("not a provenance object: {e}"))?;
    match provenance {
        Some(Provenance { version, .. }) if version != 1 => {
            Err(format!("provenance object version {version}, and only version 1 exists"))
        }
        provenance => Ok(provenance),
    }
}

/// Clone: one failed fetch is handed to every caller that waited for it.
#[derive(Clone, Debug, thiserror::Error)]
pub enum ProvenanceError {
    #[error(transparent)]
    Http(#[from] HttpError),
    /// An answer that is no provenance object (garbage, another version), or a URL that is none.
    #[error("{url}: {message}")]
    Invalid { url: String, message: String },
}

/// A file's provenance as fetched: `None` when the page lists none, or the index answers 404
/// or `null` for it.
pub type Fetched = Result<Option<Arc<Provenance>>, ProvenanceError>;

/// The provenance object of `file`, from the cache when the file's sha256 has one stored
/// (a file's provenance is written when it is uploaded; `--refresh` asks again), else from the
/// URL its page lists.
pub fn fetch(client: &IndexClient, file: &DistFile) -> Fetched {
    let Some(listed) = &file.provenance else { return Ok(None) };
    let cache = client.cache();
    // The key becomes a path: only a well-formed digest is one.
    let key = file.sha256().filter(|digest| is_sha256_hex(digest));
    if let (Some(cache), Some(key)) = (cache, key)
        && let Some(body) = cache.read_provenance(key)
        // An entry that no longer reads is fetched again.
        && let Ok(Some(provenance)) = parse(&body)
    {
        return Ok(Some(Arc::new(provenance)));
    }
    let url = Url::parse(listed)
        .map_err(|e| ProvenanceError::Invalid { url: redact_text(listed), message: format!("not a URL: {e}") })?;
    let response = client.http().get(RequestKind::Provenance, &url, &[("Accept", ACCEPT)], MAX_PROVENANCE_SIZE)?;
    match response.status {
        200..=299 => {}
        404 => return Ok(None),
        status => return Err(HttpError::unexpected_status(&response.url, status).into()),
    }
    let provenance =
        parse(&response.body).map_err(|message| ProvenanceError::Invalid { url: redact(&response.url), message })?;
    if let (Some(cache), Some(key), Some(_)) = (cache, key, &provenance) {
        cache.write_provenance(key, &response.body);
    }
    Ok(provenance.map(Arc::new))
}

// --- the verification seam ---------------------------------------------------------------------

/// What an attestation must sign: the file as the index lists it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Subject<'a> {
    pub filename: &'a str,
    /// The sha256 the index publishes for the file (lowercase hex).
    pub sha256: &'a str,
}

/// Checks one attestation: its Sigstore signature, certificate chain and transparency entry;
/// that its statement signs `subject` (one subject, that filename's distribution and version,
/// that sha256); and that its certificate names `publisher`.
pub trait AttestationVerifier: Sync {
    /// `Err` holds the reason, one line.
    fn verify(&self, attestation: &Attestation, publisher: &Publisher, subject: &Subject<'_>) -> Result<(), String>;
}

/// What hashlock concludes about one file's provenance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileProvenance {
    /// Every attestation of every bundle verified; the publishers of the bundles, in the
    /// index's order (an index serves one, the uploader's, unless it adds others' later).
    Verified {
        publishers: Vec<Publisher>,
    },
    /// The provenance could not be fetched or read, or an attestation does not verify.
    Invalid {
        reason: String,
    },
    Absent,
}

/// Judges `file` by its fetched provenance, as the reference verifier does: every attestation
/// of every bundle must verify against the file and the bundle's publisher.
pub fn judge(file: &DistFile, fetched: &Fetched, verifier: &dyn AttestationVerifier) -> FileProvenance {
    let invalid = |reason: String| FileProvenance::Invalid { reason };
    let provenance = match fetched {
        Ok(None) => return FileProvenance::Absent,
        Ok(Some(provenance)) => provenance,
        Err(error) => return invalid(error.to_string()),
    };
    let Some(sha256) = file.sha256() else {
        return invalid("the index publishes no sha256 of the file, which is what an attestation signs".into());
    };
    let subject = Subject { filename: &file.filename, sha256 };
    if provenance.attestation_bundles.is_empty() {
        return invalid("the provenance object holds no attestation bundle".into());
    }
    for bundle in &provenance.attestation_bundles {
        let kind = bundle.publisher.kind.escape_debug();
        if bundle.attestations.is_empty() {
            return invalid(format!("the bundle of the {kind} publisher holds no attestation"));
        }
        for attestation in &bundle.attestations {
            if attestation.version != 1 {
                return invalid(format!("attestation version {}, and only version 1 exists", attestation.version));
            }
            if let Err(reason) = verifier.verify(attestation, &bundle.publisher, &subject) {
                return invalid(reason);
            }
        }
    }
    FileProvenance::Verified {
        publishers: provenance.attestation_bundles.iter().map(|bundle| bundle.publisher.clone()).collect(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use proptest::prelude::*;

    use super::*;
    use crate::dist::{HashSource, Hashes};
    use crate::index::cache::{Cache, Freshness};
    use crate::index::http::{HttpClient, HttpOptions};
    use crate::index::test_server::{Reply, TestServer};

    /// The GitHub-published sdist's provenance, as its index served it.
    const GITHUB: &str = include_str!("../../tests/fixtures/provenance/pypi_attestations-0.0.19.tar.gz.provenance");
    const GITHUB_SHA256: &str = "9bb1add04b1b4e182be6b0b80931593f7a291eb49d69b4fd728a5d4cbcdc4bd3";
    const CIRCLECI: &str = include_str!(
        "../../tests/fixtures/provenance/circleci_sign_publish_example-0.0.1.dev137-py3-none-any.whl.provenance"
    );

    fn client(cache: Option<Cache>) -> IndexClient {
        let options = HttpOptions { retries: 1, backoff: Duration::from_millis(1), ..HttpOptions::default() };
        IndexClient::new(HttpClient::new(options).unwrap(), Vec::new(), cache)
    }

    /// The GitHub-published sdist as its page lists it, its provenance at `provenance`.
    fn sdist(provenance: &Url) -> DistFile {
        let mut file = crate::resolve::candidates::tests::file("pypi_attestations-0.0.19.tar.gz", None, false);
        file.hashes.insert("sha256".into(), GITHUB_SHA256.into());
        file.hash_source = HashSource::JsonPage;
        file.provenance = Some(provenance.to_string());
        file
    }

    /// The sdist with its provenance at `path` on `server`.
    fn listed(server: &TestServer, path: &str) -> DistFile {
        sdist(&server.url.join(path).unwrap())
    }

    fn serving(body: &'static str) -> TestServer {
        TestServer::start(move |_, _| Reply::new(200, ACCEPT, body))
    }

    #[test]
    fn a_real_provenance_object_is_read_with_its_publisher_and_attestation() {
        let provenance = parse(GITHUB.as_bytes()).unwrap().unwrap();
        let [bundle] = provenance.attestation_bundles.as_slice() else { panic!("{provenance:?}") };
        assert_eq!(bundle.publisher.kind, "GitHub");
        let keys = serde_json::Value::Object(bundle.publisher.keys.clone());
        let expected = serde_json::json!({
            "repository": "trailofbits/pypi-attestations", "workflow": "release.yml", "environment": null
        });
        assert_eq!(keys, expected);
        let [attestation] = bundle.attestations.as_slice() else { panic!("{bundle:?}") };
        assert_eq!(attestation.version, 1);
        assert!(attestation.verification_material.certificate.starts_with("MII"), "base64 DER");
        assert_eq!(attestation.verification_material.transparency_entries.len(), 1);
        assert!(!attestation.envelope.statement.is_empty() && !attestation.envelope.signature.is_empty());

        let circleci = parse(CIRCLECI.as_bytes()).unwrap().unwrap();
        let publisher = &circleci.attestation_bundles[0].publisher;
        assert_eq!(publisher.kind, "CircleCI");
        assert_eq!(publisher.keys["project_id"], "fdd9283f-e619-46af-8f9c-851f7d3e8b2b");
    }

    /// The publisher object goes out (to a report, a lock) as the index gave it.
    #[test]
    fn a_publisher_serialises_back_to_the_object_it_was_read_from() {
        let provenance = parse(CIRCLECI.as_bytes()).unwrap().unwrap();
        let publisher = serde_json::to_value(&provenance.attestation_bundles[0].publisher).unwrap();
        let original: serde_json::Value = serde_json::from_str(CIRCLECI).unwrap();
        assert_eq!(publisher, original["attestation_bundles"][0]["publisher"]);
    }

    #[test]
    fn null_is_none_and_other_shapes_are_one_line_errors() {
        assert_eq!(parse(b"null"), Ok(None));
        let mut other_version: serde_json::Value = serde_json::from_str(GITHUB).unwrap();
        other_version["version"] = 2.into();
        let error = parse(other_version.to_string().as_bytes()).unwrap_err();
        assert_eq!(error, "provenance object version 2, and only version 1 exists");
        for body in ["<html>login</html>", "{}", "[]", r#"{"version": 1, "attestation_bundles": [{"publisher": {}}]}"#]
        {
            let error = parse(body.as_bytes()).unwrap_err();
            assert!(error.starts_with("not a provenance object: ") && !error.contains('\n'), "{body}: {error}");
        }
    }

    #[test]
    fn fetched_with_the_integrity_media_type_and_parsed() {
        let server = serving(GITHUB);
        let fetched = fetch(&client(None), &listed(&server, "files/x.provenance")).unwrap().unwrap();
        assert_eq!(fetched.attestation_bundles[0].publisher.kind, "GitHub");
        let hits = server.hits();
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].path, "/files/x.provenance");
        assert_eq!(hits[0].header("Accept"), Some(ACCEPT));
    }

    #[test]
    fn no_listed_url_404_and_null_are_none() {
        let server = TestServer::start(|path, _| match path {
            "/null" => Reply::new(200, ACCEPT, "null"),
            _ => Reply::new(404, "text/plain", "not found"),
        });
        let client = client(None);
        let unlisted = DistFile { provenance: None, ..listed(&server, "x") };
        assert!(matches!(fetch(&client, &unlisted), Ok(None)));
        assert!(server.hits().is_empty(), "nothing listed, nothing asked");
        assert!(matches!(fetch(&client, &listed(&server, "missing")), Ok(None)));
        assert!(matches!(fetch(&client, &listed(&server, "null")), Ok(None)));
    }

    #[test]
    fn garbage_oversized_and_refused_answers_are_errors_naming_the_url() {
        let big = format!(r#"{{"version": 1, "attestation_bundles": [], "pad": "{}"}}"#, "x".repeat(1 << 20));
        let server = TestServer::start(move |path, _| match path {
            "/garbage" => Reply::new(200, ACCEPT, r#"{"version": 1, "attestation_bun"#),
            "/big" => Reply::new(200, ACCEPT, big.clone()),
            _ => Reply::new(403, "text/plain", "forbidden"),
        });
        let client = client(None);
        let error = |path: &str| fetch(&client, &listed(&server, path)).unwrap_err().to_string();
        let url = |path: &str| format!("{}{path}", server.url);
        assert!(
            error("garbage").starts_with(&format!("{}: not a provenance object: ", url("garbage"))),
            "{}",
            error("garbage")
        );
        assert_eq!(error("big"), format!("{}: the response is larger than 1 MiB, refused", url("big")));
        assert_eq!(error("forbidden"), format!("{}: HTTP 403", url("forbidden")));
    }

    #[test]
    fn cached_by_the_files_sha256_and_fetched_once() {
        let server = serving(GITHUB);
        let dir = tempfile::tempdir().unwrap();
        let with = |freshness| client(Some(Cache::new(dir.path().to_path_buf(), freshness)));
        let file = listed(&server, "files/x.provenance");
        let first = fetch(&with(Freshness::Normal), &file).unwrap();
        assert!(dir.path().join("provenance").join(format!("{GITHUB_SHA256}.json")).exists());
        // A new process, and the same file listed elsewhere: the stored object, no request.
        let elsewhere =
            DistFile { provenance: Some(server.url.join("mirror/x.provenance").unwrap().into()), ..file.clone() };
        assert_eq!(fetch(&with(Freshness::Normal), &elsewhere).unwrap(), first);
        assert_eq!(fetch(&with(Freshness::Offline), &file).unwrap(), first);
        assert_eq!(server.hits().len(), 1);
        // --refresh asks the index again (an index may add attestations to a file).
        assert_eq!(fetch(&with(Freshness::Refresh), &file).unwrap(), first);
        assert_eq!(server.hits().len(), 2);
        // A damaged entry is fetched again.
        let entry = dir.path().join("provenance").join(format!("{GITHUB_SHA256}.json"));
        let bytes = std::fs::read(&entry).unwrap();
        std::fs::write(&entry, &bytes[..bytes.len() / 2]).unwrap();
        assert_eq!(fetch(&with(Freshness::Normal), &file).unwrap(), first);
        assert_eq!(server.hits().len(), 3);
    }

    #[test]
    fn without_a_well_formed_sha256_nothing_is_stored() {
        let server = serving(GITHUB);
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().to_path_buf(), Freshness::Normal);
        for digest in [None, Some("../../escape"), Some("ab")] {
            let hashes = digest.map(|d| Hashes::from([("sha256".into(), d.into())])).unwrap_or_default();
            let file = DistFile { hashes, ..listed(&server, "files/x.provenance") };
            assert!(fetch(&client(Some(cache.clone())), &file).unwrap().is_some(), "{digest:?}");
        }
        assert_eq!(server.hits().len(), 3);
        assert_eq!(cache.size(), 0, "nothing written");
    }

    #[test]
    fn offline_without_a_stored_object_is_an_offline_error() {
        let server = serving(GITHUB);
        let http = HttpClient::new(HttpOptions { offline: true, ..HttpOptions::default() }).unwrap();
        let client = IndexClient::new(http, Vec::new(), None);
        let error = fetch(&client, &listed(&server, "files/x.provenance")).unwrap_err();
        assert!(matches!(error, ProvenanceError::Http(HttpError::Offline { .. })), "{error:?}");
        assert!(server.hits().is_empty());
    }

    /// Answers from a script, recording what it was asked.
    struct Scripted {
        answer: fn(&Publisher) -> Result<(), String>,
        asked: Mutex<Vec<(String, String, String)>>,
    }

    impl Scripted {
        fn new(answer: fn(&Publisher) -> Result<(), String>) -> Self {
            Self { answer, asked: Mutex::default() }
        }
    }

    impl AttestationVerifier for Scripted {
        fn verify(&self, _: &Attestation, publisher: &Publisher, subject: &Subject<'_>) -> Result<(), String> {
            let asked = (publisher.kind.clone(), subject.filename.to_string(), subject.sha256.to_string());
            self.asked.lock().unwrap().push(asked);
            (self.answer)(publisher)
        }
    }

    fn fetched(text: &str) -> Fetched {
        Ok(parse(text.as_bytes()).unwrap().map(Arc::new))
    }

    /// The sdist for judging: its provenance already fetched, so its URL is never asked.
    fn judged() -> DistFile {
        sdist(&Url::parse("http://127.0.0.1/files/x.provenance").unwrap())
    }

    #[test]
    fn judged_verified_with_the_publisher_when_every_attestation_verifies() {
        let verifier = Scripted::new(|_| Ok(()));
        let verdict = judge(&judged(), &fetched(GITHUB), &verifier);
        let FileProvenance::Verified { publishers } = verdict else { panic!("{verdict:?}") };
        assert_eq!(publishers.iter().map(|p| p.kind.as_str()).collect::<Vec<_>>(), ["GitHub"]);
        let asked = verifier.asked.lock().unwrap().clone();
        let expected = ("GitHub".into(), "pypi_attestations-0.0.19.tar.gz".into(), GITHUB_SHA256.into());
        assert_eq!(asked, [expected], "asked about the file the index lists, with its published sha256");
    }

    #[test]
    fn judged_invalid_on_any_failure_and_absent_without_provenance() {
        let refuse = Scripted::new(|publisher| Err(format!("the certificate does not name {}", publisher.kind)));
        let accept = Scripted::new(|_| Ok(()));
        let invalid = |reason: &str| FileProvenance::Invalid { reason: reason.into() };
        assert_eq!(judge(&judged(), &fetched(GITHUB), &refuse), invalid("the certificate does not name GitHub"));
        assert_eq!(judge(&judged(), &Ok(None), &refuse), FileProvenance::Absent);
        let error =
            ProvenanceError::Invalid { url: "http://127.0.0.1/x".into(), message: "not a provenance object".into() };
        assert_eq!(judge(&judged(), &Err(error), &accept), invalid("http://127.0.0.1/x: not a provenance object"));
        let unhashed = DistFile { hashes: Hashes::new(), ..judged() };
        let FileProvenance::Invalid { reason } = judge(&unhashed, &fetched(GITHUB), &accept) else { panic!() };
        assert!(reason.contains("no sha256"), "{reason}");

        let mut provenance: Provenance = parse(GITHUB.as_bytes()).unwrap().unwrap();
        let with = |provenance: &Provenance| judge(&judged(), &Ok(Some(Arc::new(provenance.clone()))), &accept);
        provenance.attestation_bundles[0].attestations[0].version = 2;
        assert_eq!(with(&provenance), invalid("attestation version 2, and only version 1 exists"));
        provenance.attestation_bundles[0].attestations.clear();
        assert_eq!(with(&provenance), invalid("the bundle of the GitHub publisher holds no attestation"));
        provenance.attestation_bundles.clear();
        assert_eq!(with(&provenance), invalid("the provenance object holds no attestation bundle"));
        assert!(accept.asked.lock().unwrap().is_empty(), "nothing was left to verify");
    }

    #[test]
    fn every_bundle_must_verify() {
        let mut provenance: Provenance = parse(GITHUB.as_bytes()).unwrap().unwrap();
        let mut auditor = provenance.attestation_bundles[0].clone();
        auditor.publisher.kind = "Auditor".into();
        provenance.attestation_bundles.push(auditor);
        let fetched = Ok(Some(Arc::new(provenance)));
        let only_github = Scripted::new(|p| if p.kind == "GitHub" { Ok(()) } else { Err("not GitHub".into()) });
        assert_eq!(judge(&judged(), &fetched, &only_github), FileProvenance::Invalid { reason: "not GitHub".into() });
        let FileProvenance::Verified { publishers } = judge(&judged(), &fetched, &Scripted::new(|_| Ok(()))) else {
            panic!()
        };
        assert_eq!(publishers.iter().map(|p| p.kind.as_str()).collect::<Vec<_>>(), ["GitHub", "Auditor"]);
    }

    proptest! {
        #[test]
        fn parse_never_panics(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse(&body);
        }

        #[test]
        fn parse_never_panics_on_provenance_shaped_text(
            body in r#"(\{|\}|\[|\]|"version"|"attestation_bundles"|"publisher"|"kind"|"attestations"|"verification_material"|"certificate"|"transparency_entries"|"envelope"|"statement"|"signature"|:|,|null|1|-1|1e400|"x"){0,40}"#
        ) {
            let _ = parse(body.as_bytes());
        }
    }
}
