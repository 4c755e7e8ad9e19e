//! PEP 740 provenance: verifying an index's attestation of a distribution file, offline, and
//! naming the Trusted Publisher that made it.
//!
//! An attestation is a Sigstore bundle in another shape: [`verify_attestation`] rebuilds the bundle
//! the way the reference verifier (pypi-attestations' `Attestation.to_bundle`) does, from the
//! signing certificate, the first transparency entry and the DSSE envelope, and hands it to
//! `sigstore-verify` with a policy that skips nothing.
//!
//! What `sigstore-verify` checks (and [`verify_attestation`] refuses a result in which its own
//! evidence flags say a check did not run):
//! - the bundle's structure, with an inclusion proof required for every transparency entry;
//! - the Rekor v1 integrated time, through the entry's signed entry timestamp (SET), as the
//!   signing time; RFC 3161 timestamps if the bundle had any;
//! - the certificate chain to a Fulcio CA of the trusted root, valid at every verified signing
//!   time, with the code-signing EKU (`certificate_verified`);
//! - the certificate's embedded SCT against the root's CT logs (`sct_verified`);
//! - the entry's inclusion proof and its checkpoint signed by a Rekor key of the root, and that
//!   the entry was integrated while the certificate was valid (`tlog_verified`);
//! - the DSSE signature over the envelope's PAE with the certificate's key;
//! - that some subject of the in-toto statement has the file's sha256;
//! - that the log entry's body describes this envelope and this certificate.
//!
//! What hashlock adds, as the reference verifier does:
//! - the attestation's version is 1;
//! - the statement has exactly one subject, whose name is a distribution filename of the same
//!   project, version (and for wheels build tag and tags) as the file, and whose sha256 is the
//!   file's;
//! - the predicate type is PEP 740's publish attestation (matched by its path) or SLSA
//!   provenance v1;
//! - the certificate's Fulcio claims (OIDs 1.3.6.1.4.1.57264.1.*) name a Trusted Publisher of a
//!   known kind, with the same consistency rules as the reference's publisher policies (e.g. a
//!   GitHub build config URI is this repository's workflow at the certificate's own ref or
//!   digest). The publisher is returned, not checked against an expectation: the caller compares
//!   it with the index's claim ([`Publisher::satisfies`]) or with a lock.

use pep508_rs::PackageName;
use serde::{Deserialize, Serialize};
use sigstore_verify::crypto::{CertificateInfo, SubjectAltName};
use sigstore_verify::trust_root::{SigstoreInstance, TrustedRoot as SigstoreRoot};
use sigstore_verify::types::{Bundle, Sha256Hash, SignatureContent, Statement};
use sigstore_verify::{VerificationPolicy, Verifier};

use crate::dist::DistFilename;
use crate::index::provenance::{
    Attestation as IndexAttestation, AttestationVerifier, Publisher as IndexPublisher, Subject,
};

/// Why an attestation does not verify, as one line for a report.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(String);

impl Invalid {
    fn new(reason: impl Into<String>) -> Self {
        Self(reason.into())
    }
}

/// The Sigstore trust material attestations are verified against, prepared once.
pub struct TrustedRoot {
    verifier: Verifier,
}

impl TrustedRoot {
    /// The Sigstore public-good instance's root, as embedded in the binary.
    pub fn public_good() -> Result<Self, Invalid> {
        let root = SigstoreRoot::from_embedded(SigstoreInstance::PublicGood)
            .map_err(|e| Invalid::new(format!("embedded trusted root: {e}")))?;
        Self::prepare(&root)
    }

    /// A `trusted_root.json` (Sigstore's format), for `--trusted-root FILE`.
    pub fn from_json(json: &str) -> Result<Self, Invalid> {
        let root = SigstoreRoot::from_json(json).map_err(|e| Invalid::new(format!("trusted root: {e}")))?;
        Self::prepare(&root)
    }

    fn prepare(root: &SigstoreRoot) -> Result<Self, Invalid> {
        let verifier = Verifier::new(root).map_err(|e| Invalid::new(format!("trusted root: {e}")))?;
        Ok(Self { verifier })
    }
}

/// What an attestation attests about the file, by its predicate type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttestationKind {
    /// PEP 740's publish attestation: the Trusted Publisher uploaded this file.
    Publish,
    /// SLSA provenance v1: how the file was built.
    SlsaProvenance,
}

/// A Trusted Publisher, with the keys the index gives it in a provenance object's `publisher`
/// (and PEP 751's `attestation-identities`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum Publisher {
    GitHub {
        /// `owner/name`.
        repository: String,
        /// The workflow's filename under `.github/workflows/`.
        workflow: String,
        #[serde(default)]
        environment: Option<String>,
    },
    GitLab {
        /// `namespace/project`, subgroups included.
        repository: String,
        workflow_filepath: String,
        #[serde(default)]
        environment: Option<String>,
    },
    Google {
        /// The service account's email.
        email: String,
    },
    CircleCI {
        project_id: String,
        pipeline_definition_id: String,
        #[serde(default)]
        vcs_origin: Option<String>,
        #[serde(default)]
        vcs_ref: Option<String>,
    },
}

impl Publisher {
    /// Whether this verified publisher is the one `claim` (the index's word, or a lock's) names:
    /// the same identity, and the same value of each optional key the claim sets (a Trusted
    /// Publisher configured without an environment accepts any).
    pub fn satisfies(&self, claim: &Publisher) -> bool {
        let optional = |claimed: &Option<String>, actual: &Option<String>| claimed.is_none() || claimed == actual;
        match (self, claim) {
            (
                Self::GitHub { repository, workflow, environment },
                Self::GitHub { repository: r, workflow: w, environment: e },
            ) => repository.eq_ignore_ascii_case(r) && workflow == w && optional(e, environment),
            (
                Self::GitLab { repository, workflow_filepath, environment },
                Self::GitLab { repository: r, workflow_filepath: w, environment: e },
            ) => repository.eq_ignore_ascii_case(r) && workflow_filepath == w && optional(e, environment),
            (Self::Google { email }, Self::Google { email: e }) => email == e,
            (
                Self::CircleCI { project_id, pipeline_definition_id, vcs_origin, vcs_ref },
                Self::CircleCI { project_id: p, pipeline_definition_id: d, vcs_origin: o, vcs_ref: r },
            ) => project_id == p && pipeline_definition_id == d && optional(o, vcs_origin) && optional(r, vcs_ref),
            _ => false,
        }
    }
}

/// A verified attestation: what it attests and who made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub kind: AttestationKind,
    pub publisher: Publisher,
}

/// A PEP 740 attestation object, as an index serves it inside a provenance object.
#[derive(Deserialize)]
struct Attestation {
    version: u32,
    verification_material: VerificationMaterial,
    envelope: Envelope,
}

#[derive(Deserialize)]
struct VerificationMaterial {
    /// Base64 of the DER leaf certificate.
    certificate: String,
    /// Rekor entries in the Sigstore bundle's `TransparencyLogEntry` JSON shape.
    transparency_entries: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct Envelope {
    /// Base64 of the in-toto statement.
    statement: String,
    /// Base64 of the DSSE signature.
    signature: String,
}

impl Attestation {
    /// The Sigstore bundle the attestation was made from; base64 fields carry over unchanged.
    fn to_bundle(&self) -> Result<Bundle, Invalid> {
        let entry = self
            .verification_material
            .transparency_entries
            .first()
            .ok_or_else(|| Invalid::new("the attestation has no transparency entry"))?;
        let bundle = serde_json::json!({
            "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
            "verificationMaterial": {
                "certificate": { "rawBytes": self.verification_material.certificate },
                "tlogEntries": [entry],
            },
            "dsseEnvelope": {
                "payload": self.envelope.statement,
                "payloadType": "application/vnd.in-toto+json",
                "signatures": [{ "sig": self.envelope.signature }],
            },
        });
        serde_json::from_value(bundle).map_err(|e| Invalid::new(format!("malformed attestation: {e}")))
    }
}

/// The publish attestation's predicate type, by its path: its host is the index's.
const PUBLISH_PREDICATE_PATH: &str = "/attestations/publish/v1";
const SLSA_PROVENANCE_V1: &str = "https://slsa.dev/provenance/v1";

fn attestation_kind(predicate_type: &str) -> Option<AttestationKind> {
    if predicate_type == SLSA_PROVENANCE_V1 {
        return Some(AttestationKind::SlsaProvenance);
    }
    let (_host, path) = predicate_type.strip_prefix("https://")?.split_once('/')?;
    (format!("/{path}") == PUBLISH_PREDICATE_PATH).then_some(AttestationKind::Publish)
}

/// Verifies one attestation of the file `filename` of `project`, whose published sha256 is
/// `sha256_hex`, against `root`; see the module documentation for the checks.
pub fn verify_attestation(
    attestation_json: &[u8],
    project: &PackageName,
    filename: &str,
    sha256_hex: &str,
    root: &TrustedRoot,
) -> Result<Verified, Invalid> {
    let attestation: Attestation =
        serde_json::from_slice(attestation_json).map_err(|e| Invalid::new(format!("malformed attestation: {e}")))?;
    if attestation.version != 1 {
        return Err(Invalid::new(format!("unsupported attestation version {}", attestation.version)));
    }
    let bundle = attestation.to_bundle()?;
    let digest = Sha256Hash::from_hex(sha256_hex).map_err(|_| Invalid::new(format!("bad sha256 {sha256_hex:?}")))?;
    let result = root
        .verifier
        .verify(digest, &bundle, &VerificationPolicy::any_identity())
        .map_err(|e| Invalid::new(e.to_string()))?;
    // The policy asks for every check; these flags are the crate's evidence that each ran.
    if !(result.certificate_verified() && result.sct_verified() && result.tlog_verified()) {
        return Err(Invalid::new("a Sigstore check was skipped"));
    }
    let certificate = result.certificate().ok_or_else(|| Invalid::new("the bundle has no certificate"))?;
    let kind = check_statement(&bundle, project, filename, &digest)?;
    let publisher = publisher(certificate)?;
    Ok(Verified { kind, publisher })
}

fn check_statement(
    bundle: &Bundle,
    project: &PackageName,
    filename: &str,
    digest: &Sha256Hash,
) -> Result<AttestationKind, Invalid> {
    let SignatureContent::DsseEnvelope(envelope) = &bundle.content else {
        return Err(Invalid::new("the bundle has no DSSE envelope"));
    };
    let statement: Statement = serde_json::from_slice(envelope.payload.as_bytes())
        .map_err(|e| Invalid::new(format!("malformed in-toto statement: {e}")))?;
    let [subject] = statement.subject.as_slice() else {
        return Err(Invalid::new(format!("the statement has {} subjects, not one", statement.subject.len())));
    };
    let expected = DistFilename::parse(filename, project);
    if expected.is_none() || DistFilename::parse(&subject.name, project) != expected {
        return Err(Invalid::new(format!("the statement is about {:?}, not {filename}", subject.name)));
    }
    if subject.digest.sha256.as_ref() != Some(digest) {
        return Err(Invalid::new("the statement is about another sha256"));
    }
    attestation_kind(&statement.predicate_type)
        .ok_or_else(|| Invalid::new(format!("unknown predicate type {:?}", statement.predicate_type)))
}

const GITHUB_ISSUER: &str = "https://token.actions.githubusercontent.com";
const GITLAB_ISSUER: &str = "https://gitlab.com";
const GOOGLE_ISSUER: &str = "https://accounts.google.com";
const CIRCLECI_ISSUER: &str = "https://oidc.circleci.com";

/// The Trusted Publisher a verified certificate's Fulcio claims name.
fn publisher(certificate: &CertificateInfo) -> Result<Publisher, Invalid> {
    let claims = &certificate.ci_claims;
    let claim = |value: &Option<String>, name: &str| {
        value.clone().ok_or_else(|| Invalid::new(format!("the certificate has no {name} claim")))
    };
    let issuer = certificate.issuer.as_deref().ok_or_else(|| Invalid::new("the certificate names no OIDC issuer"))?;
    // The ref or commit a build config URI may name after its `@`.
    let revisions = [&claims.source_repository_digest, &claims.source_repository_ref];
    match issuer {
        GITHUB_ISSUER => {
            let source = claim(&claims.source_repository_uri, "source repository URI")?;
            let repository = source.strip_prefix("https://github.com/").ok_or_else(|| not_repository(&source))?;
            let config = claim(&claims.build_config_uri, "build config URI")?;
            let workflow =
                workflow_of(&config, &format!("https://github.com/{repository}/.github/workflows/"), revisions)?;
            Ok(Publisher::GitHub {
                repository: repository.to_string(),
                workflow,
                environment: claims.deployment_environment.clone(),
            })
        }
        GITLAB_ISSUER => {
            let source = claim(&claims.source_repository_uri, "source repository URI")?;
            let repository = source.strip_prefix("https://gitlab.com/").ok_or_else(|| not_repository(&source))?;
            let config = claim(&claims.build_config_uri, "build config URI")?;
            let workflow_filepath = workflow_of(&config, &format!("https://gitlab.com/{repository}//"), revisions)?;
            Ok(Publisher::GitLab {
                repository: repository.to_string(),
                workflow_filepath,
                environment: claims.deployment_environment.clone(),
            })
        }
        GOOGLE_ISSUER => match &certificate.identity {
            Some(SubjectAltName::Email(email)) => Ok(Publisher::Google { email: email.clone() }),
            _ => Err(Invalid::new("the Google certificate names no email")),
        },
        CIRCLECI_ISSUER => {
            let signer = claim(&claims.build_signer_uri, "build signer URI")?;
            let (project_id, pipeline_definition_id) = signer
                .strip_prefix("https://circleci.com/api/v2/projects/")
                .and_then(|rest| rest.split_once("/pipeline-definitions/"))
                .filter(|(project, pipeline)| !project.contains('/') && !pipeline.contains('/'))
                .ok_or_else(|| Invalid::new(format!("the build signer URI {signer} names no CircleCI pipeline")))?;
            Ok(Publisher::CircleCI {
                project_id: project_id.to_string(),
                pipeline_definition_id: pipeline_definition_id.to_string(),
                vcs_origin: claims.source_repository_uri.clone(),
                vcs_ref: claims.source_repository_ref.clone(),
            })
        }
        other => Err(Invalid::new(format!("no Trusted Publisher is issued by {other}"))),
    }
}

fn not_repository(source: &str) -> Invalid {
    Invalid::new(format!("the source repository URI {source} is not on its issuer's forge"))
}

/// The workflow path in a build config URI `{prefix}{workflow}@{revision}`, where the revision
/// must be one the certificate itself names: a workflow at another ref is not this build's.
fn workflow_of(config: &str, prefix: &str, revisions: [&Option<String>; 2]) -> Result<String, Invalid> {
    let path = config
        .strip_prefix(prefix)
        .ok_or_else(|| Invalid::new(format!("the build config URI {config} is not in the source repository")))?;
    revisions
        .into_iter()
        .flatten()
        .find_map(|revision| path.strip_suffix(revision.as_str())?.strip_suffix('@'))
        .filter(|workflow| !workflow.is_empty())
        .map(str::to_string)
        .ok_or_else(|| Invalid::new(format!("the build config URI {config} is not at the certificate's ref or commit")))
}

/// The verifier the index's provenance fetch hands each attestation to
/// ([`crate::index::provenance::judge`]): Sigstore's checks and hashlock's, then the bundle's
/// claimed publisher against the one the certificate names.
pub struct SigstoreVerifier<'r> {
    pub root: &'r TrustedRoot,
}

impl AttestationVerifier for SigstoreVerifier<'_> {
    fn verify(
        &self,
        attestation: &IndexAttestation,
        claim: &IndexPublisher,
        subject: &Subject<'_>,
    ) -> Result<(), String> {
        let project = project_of(subject.filename)
            .ok_or_else(|| format!("{}: not a distribution's filename", subject.filename))?;
        let json = serde_json::to_vec(attestation).map_err(|e| e.to_string())?;
        let verified = verify_attestation(&json, &project, subject.filename, subject.sha256, self.root)
            .map_err(|invalid| invalid.to_string())?;
        let claimed: Publisher = serde_json::to_value(claim)
            .and_then(serde_json::from_value)
            .map_err(|e| format!("the index's publisher claim is not one hashlock knows: {e}"))?;
        if verified.publisher.satisfies(&claimed) {
            Ok(())
        } else {
            Err(format!(
                "the certificate names {}, not the publisher the index claims",
                serde_json::to_string(&verified.publisher).unwrap_or_default()
            ))
        }
    }
}

/// The project a wheel's or an sdist's filename names (the text before the version).
fn project_of(filename: &str) -> Option<PackageName> {
    let name = if filename.ends_with(".whl") {
        filename.split('-').next()?
    } else {
        let stem = filename.strip_suffix(".tar.gz").or_else(|| filename.strip_suffix(".zip"))?;
        stem.rsplit_once('-')?.0
    };
    name.parse().ok()
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;
    use std::sync::LazyLock;

    use sigstore_verify::types::DerCertificate;

    use super::*;

    static PUBLIC_GOOD: LazyLock<TrustedRoot> = LazyLock::new(|| TrustedRoot::public_good().expect("embedded root"));

    /// A real attestation and the file it attests.
    struct Case {
        attestation: &'static [u8],
        project: &'static str,
        filename: &'static str,
        sha256: &'static str,
    }

    macro_rules! fixture {
        ($name:literal) => {
            include_bytes!(concat!("../../tests/fixtures/provenance/", $name))
        };
    }

    const GITHUB: Case = Case {
        attestation: fixture!("pypi_attestations-0.0.19.tar.gz.publish.attestation"),
        project: "pypi-attestations",
        filename: "pypi_attestations-0.0.19.tar.gz",
        sha256: "9bb1add04b1b4e182be6b0b80931593f7a291eb49d69b4fd728a5d4cbcdc4bd3",
    };
    const GITHUB_SLSA: Case =
        Case { attestation: fixture!("pypi_attestations-0.0.19.tar.gz.slsa.attestation"), ..GITHUB };
    const GITLAB: Case = Case {
        attestation: fixture!("gitlab_oidc_project-0.0.3.tar.gz.publish.attestation"),
        project: "gitlab-oidc-project",
        filename: "gitlab_oidc_project-0.0.3.tar.gz",
        sha256: "c1ca9b0d85df1606451098233018534497bf584362e10e4a8c21dfaea92c02a8",
    };
    const STAGING: Case = Case {
        attestation: fixture!("rfc8785-0.1.2-py3-none-any.whl.publish.attestation"),
        project: "rfc8785",
        filename: "rfc8785-0.1.2-py3-none-any.whl",
        sha256: "c4e92e9ecc828bef2aa7dba1de8ac983511f7532a0df11c770d39099a25cf201",
    };

    /// The first attestation of a provenance object and the publisher the index claims for it.
    fn from_provenance(provenance: &[u8]) -> (Vec<u8>, Publisher) {
        let provenance: serde_json::Value = serde_json::from_slice(provenance).expect("provenance JSON");
        let bundle = &provenance["attestation_bundles"][0];
        let attestation = serde_json::to_vec(&bundle["attestations"][0]).expect("serialise");
        (attestation, serde_json::from_value(bundle["publisher"].clone()).expect("publisher"))
    }

    fn verify(case: &Case, attestation: &[u8]) -> Result<Verified, Invalid> {
        let project = PackageName::from_str(case.project).expect("project name");
        verify_attestation(attestation, &project, case.filename, case.sha256, &PUBLIC_GOOD)
    }

    /// The attestation's JSON with `edit` applied.
    fn edited(case: &Case, edit: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
        let mut json: serde_json::Value = serde_json::from_slice(case.attestation).expect("attestation JSON");
        edit(&mut json);
        serde_json::to_vec(&json).expect("serialise")
    }

    fn reason(result: Result<Verified, Invalid>) -> String {
        result.expect_err("must not verify").to_string()
    }

    #[test]
    fn a_github_publish_attestation_names_the_repository_and_workflow() {
        let verified = verify(&GITHUB, GITHUB.attestation).expect("verifies");
        assert_eq!(verified.kind, AttestationKind::Publish);
        let expected = Publisher::GitHub {
            repository: "trailofbits/pypi-attestations".into(),
            workflow: "release.yml".into(),
            environment: None,
        };
        assert_eq!(verified.publisher, expected);
        let (_, claimed) = from_provenance(fixture!("pypi_attestations-0.0.19.tar.gz.provenance"));
        assert!(verified.publisher.satisfies(&claimed));
    }

    #[test]
    fn a_slsa_provenance_attestation_verifies_as_such() {
        assert_eq!(
            verify(&GITHUB_SLSA, GITHUB_SLSA.attestation).expect("verifies").kind,
            AttestationKind::SlsaProvenance
        );
    }

    #[test]
    fn a_gitlab_attestation_names_the_project_and_ci_file() {
        let expected = Publisher::GitLab {
            repository: "facutuesca/gitlab-oidc-project".into(),
            workflow_filepath: ".gitlab-ci.yml".into(),
            environment: None,
        };
        assert_eq!(verify(&GITLAB, GITLAB.attestation).expect("verifies").publisher, expected);
    }

    #[test]
    fn google_and_circleci_attestations_name_the_publisher_the_index_claims() {
        let google = Case {
            attestation: b"",
            project: "gcb-attestation-test",
            filename: "gcb_attestation_test-0.0.0.tar.gz",
            sha256: "461317362419124b6012e855423a9078d6de8aed3e74fa78cc74d669b23dc6cf",
        };
        let circleci = Case {
            attestation: b"",
            project: "circleci-sign-publish-example",
            filename: "circleci_sign_publish_example-0.0.1.dev137-py3-none-any.whl",
            sha256: "8cb34da1e27336f11a2c43f3f9c7433bd76f24f470c904724f06ad7f131d9e9f",
        };
        let provenances = [
            (google, &fixture!("gcb_attestation_test-0.0.0.tar.gz.provenance")[..]),
            (circleci, &fixture!("circleci_sign_publish_example-0.0.1.dev137-py3-none-any.whl.provenance")[..]),
        ];
        for (case, provenance) in provenances {
            let (attestation, claimed) = from_provenance(provenance);
            // The claim carries every key the certificate does, so they are equal, not only compatible.
            assert_eq!(verify(&case, &attestation).expect("verifies").publisher, claimed, "{}", case.filename);
        }
    }

    #[test]
    fn an_attestation_from_sigstore_staging_does_not_verify_against_public_good() {
        let reason = reason(verify(&STAGING, STAGING.attestation));
        assert!(reason.contains("certificate") || reason.contains("log"), "{reason}");
    }

    #[test]
    fn a_changed_signature_does_not_verify() {
        let attestation = edited(&GITHUB, |json| {
            let signature = json["envelope"]["signature"].as_str().expect("signature").to_string();
            // One base64 digit in the middle: one byte of the ECDSA signature's r.
            let (head, tail) = signature.split_at(20);
            let digit = if tail.starts_with('A') { "B" } else { "A" };
            json["envelope"]["signature"] = format!("{head}{digit}{}", &tail[1..]).into();
        });
        assert!(reason(verify(&GITHUB, &attestation)).contains("signature"));
    }

    #[test]
    fn another_publishers_certificate_does_not_verify() {
        let gitlab: serde_json::Value = serde_json::from_slice(GITLAB.attestation).expect("attestation JSON");
        let attestation = edited(&GITHUB, |json| {
            json["verification_material"]["certificate"] = gitlab["verification_material"]["certificate"].clone();
        });
        assert!(reason(verify(&GITHUB, &attestation)).contains("certificate"));
    }

    #[test]
    fn a_certificate_whose_claims_were_changed_does_not_verify() {
        let attestation = edited(&GITHUB, |json| {
            let certificate = json["verification_material"]["certificate"].as_str().expect("certificate");
            let mut der = DerCertificate::from_base64(certificate).expect("base64").into_bytes();
            let repository = der.windows(11).position(|w| w == b"trailofbits").expect("the repository claim");
            der[repository + 10] = b'z';
            json["verification_material"]["certificate"] = DerCertificate::new(der).to_base64().into();
        });
        assert!(reason(verify(&GITHUB, &attestation)).contains("certificate"));
    }

    #[test]
    fn a_statement_about_another_file_does_not_verify() {
        let other_digest = Case { sha256: GITLAB.sha256, ..GITHUB };
        assert!(reason(verify(&other_digest, GITHUB.attestation)).contains("hash"));
        let other_version = Case { filename: "pypi_attestations-0.0.20.tar.gz", ..GITHUB };
        assert!(reason(verify(&other_version, GITHUB.attestation)).contains("not pypi_attestations-0.0.20.tar.gz"));
    }

    #[test]
    fn an_attestation_without_its_transparency_entry_does_not_verify() {
        let attestation = edited(&GITHUB, |json| {
            json["verification_material"]["transparency_entries"] = serde_json::json!([]);
        });
        assert!(reason(verify(&GITHUB, &attestation)).contains("transparency entry"));
    }

    #[test]
    fn a_claim_of_another_repository_or_workflow_is_not_satisfied() {
        let verified = verify(&GITHUB, GITHUB.attestation).expect("verifies").publisher;
        let claim = |repository: &str, workflow: &str| Publisher::GitHub {
            repository: repository.into(),
            workflow: workflow.into(),
            environment: None,
        };
        assert!(verified.satisfies(&claim("Trailofbits/Pypi-Attestations", "release.yml")));
        assert!(!verified.satisfies(&claim("trailofbits/other", "release.yml")));
        assert!(!verified.satisfies(&claim("trailofbits/pypi-attestations", "publish.yml")));
        let environment = Publisher::GitHub {
            repository: "trailofbits/pypi-attestations".into(),
            workflow: "release.yml".into(),
            environment: Some("pypi".into()),
        };
        assert!(!verified.satisfies(&environment));
    }

    #[test]
    fn a_workflow_counts_only_at_the_certificates_own_ref_or_commit() {
        let prefix = "https://github.com/o/r/.github/workflows/";
        let config = "https://github.com/o/r/.github/workflows/release.yml@refs/tags/v1";
        let at = |digest: &str, reference: &str| {
            workflow_of(config, prefix, [&Some(digest.into()), &Some(reference.into())])
        };
        assert_eq!(at("0123abcd", "refs/tags/v1"), Ok("release.yml".into()));
        assert!(at("0123abcd", "refs/tags/v2").is_err());
        assert!(
            workflow_of(config, "https://github.com/o/other/.github/workflows/", [&None, &Some("refs/tags/v1".into())])
                .is_err()
        );
    }

    #[test]
    fn the_publish_predicate_is_matched_by_its_path() {
        assert_eq!(attestation_kind("https://index.example/attestations/publish/v1"), Some(AttestationKind::Publish));
        assert_eq!(attestation_kind("https://index.example/attestations/publish/v2"), None);
        assert_eq!(attestation_kind("https://index.example/x/attestations/publish/v1"), None);
        assert_eq!(attestation_kind("http://index.example/attestations/publish/v1"), None);
        assert_eq!(attestation_kind(SLSA_PROVENANCE_V1), Some(AttestationKind::SlsaProvenance));
    }

    proptest::proptest! {
        /// An index's attestation is untrusted input: any bytes give a reason, never a panic.
        #[test]
        fn arbitrary_attestations_do_not_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            proptest::prop_assert!(verify(&GITHUB, &bytes).is_err());
        }

        /// Nor does an attestation with one byte changed.
        #[test]
        fn altered_attestations_do_not_panic(at in 0..GITHUB.attestation.len(), byte in proptest::prelude::any::<u8>()) {
            let mut bytes = GITHUB.attestation.to_vec();
            bytes[at] = byte;
            let _ = verify(&GITHUB, &bytes);
        }
    }
}
