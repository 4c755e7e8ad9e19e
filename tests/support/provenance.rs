//! The real PEP 740 attestations of `tests/fixtures/provenance/` (see its README) as files of
//! the loopback index, each with the provenance object its index serves.

use std::path::PathBuf;

use serde_json::{Value, json};

use super::{File, Registry};

/// A distribution file with production attestations, and its provenance object.
#[derive(Clone, Debug)]
pub struct Attested {
    pub project: &'static str,
    pub version: &'static str,
    pub filename: &'static str,
    pub bytes: Vec<u8>,
    pub provenance: Value,
}

impl Attested {
    /// The file as the index publishes it: its real sha256, its provenance served and listed.
    pub fn file(&self) -> File {
        File::new(self.filename, self.version, self.bytes.clone()).with_provenance(self.provenance.to_string())
    }

    /// The publisher of the (only) bundle, as the index claims it.
    pub fn publisher(&self) -> &Value {
        &self.provenance["attestation_bundles"][0]["publisher"]
    }
}

/// An sdist published from GitHub Actions (trailofbits/pypi-attestations, `release.yml`).
pub fn github() -> Attested {
    served("pypi-attestations", "0.0.19", "pypi_attestations-0.0.19.tar.gz")
}

/// The GitHub-published sdist with a second attestation in its bundle: its SLSA provenance.
pub fn github_with_slsa() -> Attested {
    let mut attested = github();
    let slsa = json_fixture("pypi_attestations-0.0.19.tar.gz.slsa.attestation");
    let attestations = attested.provenance["attestation_bundles"][0]["attestations"].as_array_mut();
    attestations.expect("a bundle's attestations").push(slsa);
    attested
}

/// An sdist published from GitLab CI/CD; its attestation is wrapped with the publisher the
/// upstream tests verify it against.
pub fn gitlab() -> Attested {
    let publisher =
        repository_publisher("GitLab", "facutuesca/gitlab-oidc-project", "workflow_filepath", ".gitlab-ci.yml");
    wrapped("gitlab-oidc-project", "0.0.3", "gitlab_oidc_project-0.0.3.tar.gz", publisher)
}

/// An sdist published from Google Cloud Build (a service account).
pub fn google() -> Attested {
    served("gcb-attestation-test", "0.0.0", "gcb_attestation_test-0.0.0.tar.gz")
}

/// A wheel published from CircleCI.
pub fn circleci() -> Attested {
    served(
        "circleci-sign-publish-example",
        "0.0.1.dev137",
        "circleci_sign_publish_example-0.0.1.dev137-py3-none-any.whl",
    )
}

/// A wheel whose attestation was made on Sigstore's staging instance, wrapped with a claim of
/// a GitHub publisher that nothing in it backs: it must not verify against the public-good root.
pub fn staging() -> Attested {
    let publisher = repository_publisher("GitHub", "trailofbits/rfc8785.py", "workflow", "release.yml");
    wrapped("rfc8785", "0.1.2", "rfc8785-0.1.2-py3-none-any.whl", publisher)
}

/// The four files published by Trusted Publishers on Sigstore's public-good instance.
pub fn published() -> [Attested; 4] {
    [github(), gitlab(), google(), circleci()]
}

/// An index serving these files.
pub fn registry(attested: &[Attested]) -> Registry {
    let mut registry = Registry::new();
    for one in attested {
        registry.add(one.project, one.file());
    }
    registry
}

/// A GitHub or GitLab publisher object as the index writes one: the repository, the workflow
/// under the key its kind uses, no environment.
fn repository_publisher(kind: &str, repository: &str, workflow_key: &str, workflow: &str) -> Value {
    json!({ "kind": kind, "repository": repository, workflow_key: workflow, "environment": null })
}

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/provenance").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn json_fixture(name: &str) -> Value {
    serde_json::from_slice(&fixture(name)).unwrap_or_else(|e| panic!("{name}: not JSON: {e}"))
}

/// A file whose provenance object is a fixture of its own.
fn served(project: &'static str, version: &'static str, filename: &'static str) -> Attested {
    let provenance = json_fixture(&format!("{filename}.provenance"));
    Attested { project, version, filename, bytes: fixture(filename), provenance }
}

/// A file with a lone attestation, wrapped in a provenance object with `publisher`.
fn wrapped(project: &'static str, version: &'static str, filename: &'static str, publisher: Value) -> Attested {
    let attestation = json_fixture(&format!("{filename}.publish.attestation"));
    let provenance = json!({
        "version": 1,
        "attestation_bundles": [{ "publisher": publisher, "attestations": [attestation] }],
    });
    Attested { project, version, filename, bytes: fixture(filename), provenance }
}
