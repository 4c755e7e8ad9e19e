//! The report model: per pinned package, its files and hash evidence, the findings, a summary
//! and a verdict. One value, rendered as text, JSON (schema in the README) or Markdown.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::check::attestations::Assessment;
use crate::check::findings::{Finding, Severity, TargetFile, target_file};
use crate::dist::{DistFilename, HashSource, Hashes};
use crate::index::provenance::{FileProvenance, Publisher as Claim};
use crate::lock::{Lock, LockedPackage, PIP_ALGORITHMS};
use crate::lockfile::requirements::FormatControl;
use crate::metadata::build::BuildSystem;
use crate::target::Target;

/// Bumped on any incompatible change to the JSON form.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub schema_version: u32,
    /// `hashlock 0.1.0`.
    pub tool: String,
    pub target: String,
    /// Redacted index URLs, primary first.
    pub indexes: Vec<String>,
    pub summary: Summary,
    pub packages: Vec<PackageReport>,
    /// Findings about the lock as a whole, or about packages that are not in it (a missing
    /// dependency, a name the index does not know).
    pub findings: Vec<Finding>,
    /// The file reported on, where a finding without a line of its own is placed (SARIF needs
    /// a location for every result).
    #[serde(skip)]
    pub file: Option<PathBuf>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Summary {
    pub packages: usize,
    pub files: usize,
    pub wheels: usize,
    pub sdists: usize,
    pub files_with_sha256: usize,
    pub files_without_hash: usize,
    /// Files whose only hashes are ones pip rejects (md5, sha1).
    pub weak_only_files: usize,
    /// Files whose PEP 740 attestations all verify.
    pub files_with_verified_provenance: usize,
    pub packages_with_findings: usize,
    pub yanked: usize,
    pub sdist_only: usize,
    pub errors: usize,
    pub warnings: usize,
    pub infos: usize,
    /// Whether `pip install --require-hashes` can install this tree today: no error findings
    /// but provenance ones.
    pub require_hashes_feasible: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct PackageReport {
    pub name: String,
    pub version: String,
    pub required_by: Vec<String>,
    /// What the target installs: a wheel, an sdist it must build, or nothing.
    pub target_file: TargetFile,
    pub yanked: bool,
    /// Algorithms published across the files, sorted.
    pub algorithms: Vec<String>,
    pub hash_sources: Vec<HashSource>,
    pub files: Vec<FileReport>,
    /// For an sdist-only package: what pip builds it with (when builds are allowed).
    pub build: Option<BuildSystem>,
    /// The Trusted Publishers of its files with verified provenance, as the index names them.
    pub publishers: Vec<Claim>,
    pub findings: Vec<Finding>,
}

#[derive(Clone, Debug, Serialize)]
pub struct FileReport {
    pub filename: String,
    /// `wheel`, `sdist` or `other`.
    pub kind: &'static str,
    pub hashes: Hashes,
    pub hash_source: HashSource,
    pub yanked: bool,
    /// Its PEP 740 provenance; left out where provenance was not checked (`verify`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provenance: Option<ProvenanceReport>,
}

/// One file's provenance: `verified` (every attestation verified, made by `publisher`),
/// `invalid` (with the `reason`) or `absent`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProvenanceReport {
    pub status: ProvenanceStatus,
    /// The publisher object of the uploader's bundle, as the index gives it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publisher: Option<Claim>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProvenanceStatus {
    Verified,
    Invalid,
    Absent,
}

impl From<&FileProvenance> for ProvenanceReport {
    fn from(verdict: &FileProvenance) -> Self {
        match verdict {
            FileProvenance::Verified { publishers } => {
                Self { status: ProvenanceStatus::Verified, publisher: publishers.first().cloned(), reason: None }
            }
            FileProvenance::Invalid { reason } => {
                Self { status: ProvenanceStatus::Invalid, publisher: None, reason: Some(reason.clone()) }
            }
            FileProvenance::Absent => Self { status: ProvenanceStatus::Absent, publisher: None, reason: None },
        }
    }
}

impl Report {
    /// `findings`: every finding about `lock`; those naming a package are filed under it.
    /// `formats`: the `--no-binary`/`--only-binary` of an audited file, which decide what the
    /// target installs.
    pub fn new(
        lock: &Lock,
        findings: &[Finding],
        target: &Target,
        indexes: Vec<String>,
        formats: &FormatControl,
    ) -> Self {
        let packages = lock.packages.iter().map(|package| package_report(package, findings, target, formats)).collect();
        Self::assemble(packages, findings, target.describe(), indexes)
    }

    /// Files what each sdist-only package builds with under it.
    pub fn with_builds(mut self, builds: Vec<(String, String, BuildSystem)>) -> Self {
        for (name, version, build) in builds {
            if let Some(package) = self.packages.iter_mut().find(|p| p.name == name && p.version == version) {
                package.build = Some(build);
            }
        }
        self
    }

    /// Files each file's provenance and each package's publishers (`assessment` is of the
    /// lock this report was made from, package for package).
    pub fn with_provenance(mut self, assessment: &Assessment) -> Self {
        for (package, provenance) in self.packages.iter_mut().zip(&assessment.packages) {
            for (file, verdict) in package.files.iter_mut().zip(&provenance.files) {
                file.provenance = Some(verdict.into());
            }
            package.publishers = provenance.publishers();
        }
        self.summary.files_with_verified_provenance = self
            .packages
            .iter()
            .flat_map(|p| &p.files)
            .filter(|f| f.provenance.as_ref().is_some_and(|p| p.status == ProvenanceStatus::Verified))
            .count();
        self
    }

    /// Names the file reported on.
    pub fn about_file(mut self, file: &Path) -> Self {
        self.file = Some(file.to_path_buf());
        self
    }

    /// A report of findings alone, about no resolved packages (as `verify` makes).
    pub fn of_findings(findings: &[Finding], target: String, indexes: Vec<String>) -> Self {
        Self::assemble(Vec::new(), findings, target, indexes)
    }

    fn assemble(packages: Vec<PackageReport>, findings: &[Finding], target: String, indexes: Vec<String>) -> Self {
        let mut summary = Summary { packages: packages.len(), ..Summary::default() };
        for file in packages.iter().flat_map(|p| p.files.iter()) {
            summary.files += 1;
            summary.wheels += usize::from(file.kind == "wheel");
            summary.sdists += usize::from(file.kind == "sdist");
            summary.files_with_sha256 += usize::from(file.hashes.contains_key("sha256"));
            if file.hashes.is_empty() {
                summary.files_without_hash += 1;
            } else if !PIP_ALGORITHMS.iter().any(|alg| file.hashes.contains_key(alg)) {
                summary.weak_only_files += 1;
            }
        }
        for package in &packages {
            summary.packages_with_findings += usize::from(!package.findings.is_empty());
            summary.yanked += usize::from(package.yanked);
            summary.sdist_only += usize::from(package.target_file == TargetFile::SdistOnly);
        }
        for finding in findings {
            match finding.severity {
                Severity::Error => summary.errors += 1,
                Severity::Warning => summary.warnings += 1,
                Severity::Info => summary.infos += 1,
            }
        }
        summary.require_hashes_feasible =
            !findings.iter().any(|f| f.severity == Severity::Error && !f.code.is_provenance());
        let unfiled = findings
            .iter()
            .filter(|f| f.package.as_ref().is_none_or(|name| !packages.iter().any(|p| &p.name == name)))
            .cloned()
            .collect();
        Self {
            schema_version: SCHEMA_VERSION,
            tool: format!("hashlock {}", env!("CARGO_PKG_VERSION")),
            target,
            indexes,
            summary,
            packages,
            findings: unfiled,
            file: None,
        }
    }

    /// Every finding once, package ones first (in package order), then the lock-wide ones. (A
    /// name locked at two versions, under disjoint markers, lists its findings under both.)
    pub fn all_findings(&self) -> impl Iterator<Item = &Finding> {
        distinct(self.packages.iter().flat_map(|p| p.findings.iter()).chain(self.findings.iter())).into_iter()
    }

    /// The worst severity found, if any.
    pub fn worst(&self) -> Option<Severity> {
        self.all_findings().map(|f| f.severity).max()
    }
}

/// The distinct items, in first-seen order.
pub(crate) fn distinct<T: PartialEq>(items: impl Iterator<Item = T>) -> Vec<T> {
    let mut out = Vec::new();
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

fn package_report(
    package: &LockedPackage,
    findings: &[Finding],
    target: &Target,
    formats: &FormatControl,
) -> PackageReport {
    let name = package.name.to_string();
    let files = package
        .files
        .iter()
        .map(|file| FileReport {
            filename: file.filename.clone(),
            kind: match DistFilename::parse(&file.filename, &package.name) {
                Some(DistFilename::Wheel(_)) => "wheel",
                Some(DistFilename::Sdist(_)) => "sdist",
                None => "other",
            },
            hashes: file.hashes.clone(),
            hash_source: file.hash_source,
            yanked: file.yanked.is_some(),
            provenance: None,
        })
        .collect();
    PackageReport {
        version: package.version.to_string(),
        required_by: package.required_by.iter().filter(|s| !s.is_empty()).cloned().collect(),
        target_file: target_file(package, target, formats.allowed(&package.name)),
        yanked: package.files.iter().any(|f| f.yanked.is_some()),
        algorithms: package
            .files
            .iter()
            .flat_map(|f| f.hashes.keys().cloned())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect(),
        hash_sources: distinct(package.files.iter().map(|f| f.hash_source)),
        build: None,
        publishers: Vec::new(),
        findings: findings.iter().filter(|f| f.package.as_deref() == Some(name.as_str())).cloned().collect(),
        files,
        name,
    }
}
