//! Findings: what stands between a tree and a trustworthy `--require-hashes` install. They are
//! data with stable codes, produced once and rendered by every output format.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use pep508_rs::PackageName;
use serde::Serialize;

use crate::dist::{DistFilename, Formats, HashSource};
use crate::index::Project;
use crate::index::http::redact;
use crate::lock::{Lock, LockedPackage, pip_hash};
use crate::target::Target;

/// Ordered: a `--fail-on` severity fails on itself and everything above it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The stable finding codes (DESIGN.md lists when each applies).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Code {
    MissingHash,
    WeakHashOnly,
    MixedAlgorithms,
    IndexDisagreement,
    MixedIndexes,
    Yanked,
    SdistOnly,
    NoFileForTarget,
    Unpinned,
    MissingDependency,
    HashMismatch,
    IncompleteHashes,
    UnhashedRequirement,
    OrphanedHash,
    Unhashable,
    NotOnIndex,
    LocalMismatch,
    UncoveredFile,
    NoLocalFile,
    FileOption,
    EmptyLock,
    SizeMismatch,
    UnverifiableHash,
    InstalledFileModified,
    InstalledFileMissing,
    UnownedFile,
    NotInLock,
    NotInstalled,
    Unverifiable,
    ProvenanceInvalid,
    ProvenanceMissing,
    ProvenanceDropped,
    PublisherChanged,
    PublisherMismatch,
    ComputedHash,
    IndexShadowing,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MissingHash => "missing-hash",
            Self::WeakHashOnly => "weak-hash-only",
            Self::MixedAlgorithms => "mixed-algorithms",
            Self::IndexDisagreement => "index-disagreement",
            Self::MixedIndexes => "mixed-indexes",
            Self::Yanked => "yanked",
            Self::SdistOnly => "sdist-only",
            Self::NoFileForTarget => "no-file-for-target",
            Self::Unpinned => "unpinned",
            Self::MissingDependency => "missing-dependency",
            Self::HashMismatch => "hash-mismatch",
            Self::IncompleteHashes => "incomplete-hashes",
            Self::UnhashedRequirement => "unhashed-requirement",
            Self::OrphanedHash => "orphaned-hash",
            Self::Unhashable => "unhashable",
            Self::NotOnIndex => "not-on-index",
            Self::LocalMismatch => "local-mismatch",
            Self::UncoveredFile => "uncovered-file",
            Self::NoLocalFile => "no-local-file",
            Self::FileOption => "file-option",
            Self::EmptyLock => "empty-lock",
            Self::SizeMismatch => "size-mismatch",
            Self::UnverifiableHash => "unverifiable-hash",
            Self::InstalledFileModified => "installed-file-modified",
            Self::InstalledFileMissing => "installed-file-missing",
            Self::UnownedFile => "unowned-file",
            Self::NotInLock => "not-in-lock",
            Self::NotInstalled => "not-installed",
            Self::Unverifiable => "unverifiable",
            Self::ProvenanceInvalid => "provenance-invalid",
            Self::ProvenanceMissing => "provenance-missing",
            Self::ProvenanceDropped => "provenance-dropped",
            Self::PublisherChanged => "publisher-changed",
            Self::PublisherMismatch => "publisher-mismatch",
            Self::ComputedHash => "computed-hash",
            Self::IndexShadowing => "index-shadowing",
        }
    }

    /// About who published a file (PEP 740), not about its hashes: no such finding stops
    /// `pip install --require-hashes`.
    pub fn is_provenance(self) -> bool {
        matches!(
            self,
            Self::ProvenanceInvalid
                | Self::ProvenanceMissing
                | Self::ProvenanceDropped
                | Self::PublisherChanged
                | Self::PublisherMismatch
        )
    }

    /// Error: pip with `--require-hashes` fails, or installs something unchecked.
    /// Warning: it works here but is fragile or risky. Info: worth knowing.
    pub fn severity(self) -> Severity {
        match self {
            // `--require-provenance` raises a missing one to an error.
            Self::MixedAlgorithms | Self::ProvenanceMissing | Self::Unverifiable => Severity::Info,
            Self::Yanked
            | Self::EmptyLock
            | Self::SdistOnly
            | Self::IncompleteHashes
            | Self::ComputedHash
            | Self::IndexShadowing
            | Self::UncoveredFile
            | Self::NoLocalFile
            | Self::ProvenanceDropped
            | Self::PublisherChanged
            | Self::InstalledFileMissing => Severity::Warning,
            _ => Severity::Error,
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Finding {
    pub severity: Severity,
    pub code: Code,
    /// Normalised package name, when the finding is about one package.
    pub package: Option<String>,
    /// `file:line` in the audited file, when there is one.
    pub location: Option<String>,
    pub message: String,
}

impl Finding {
    pub fn new(code: Code, package: Option<&PackageName>, message: impl Into<String>) -> Self {
        Self {
            severity: code.severity(),
            code,
            package: package.map(ToString::to_string),
            location: None,
            message: message.into(),
        }
    }

    /// The same finding at another severity, where one code covers cases of different weight
    /// (an unowned `.pth` file and an unowned text file).
    pub fn with_severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    pub fn at(mut self, location: impl fmt::Display) -> Self {
        self.location = Some(location.to_string());
        self
    }
}

/// The hash evidence checks on a lock, for one target: everything that can be said from the
/// index's pages alone.
pub fn check_lock(lock: &Lock, target: &Target) -> Vec<Finding> {
    check_lock_with(lock, target, &|_| Formats::ANY)
}

/// [`check_lock`] where pip may install only `formats(name)` of a package (`--no-binary`,
/// `--only-binary` in an audited file).
pub fn check_lock_with(lock: &Lock, target: &Target, formats: &dyn Fn(&PackageName) -> Formats) -> Vec<Finding> {
    let mut findings: Vec<Finding> =
        lock.packages.iter().flat_map(|package| check_package(package, target, formats(&package.name))).collect();
    let algorithms: BTreeSet<&str> =
        lock.packages.iter().flat_map(|p| p.files.iter()).filter_map(|f| pip_hash(f).map(|(alg, _)| alg)).collect();
    if algorithms.len() > 1 {
        let list: Vec<&str> = algorithms.into_iter().collect();
        findings.push(Finding::new(
            Code::MixedAlgorithms,
            None,
            format!("the lock's files are hashed with different algorithms: {}", list.join(", ")),
        ));
    }
    findings.sort();
    findings
}

fn check_package(package: &LockedPackage, target: &Target, formats: Formats) -> Vec<Finding> {
    let name = Some(&package.name);
    let what = format!("{} {}", package.name, package.version);
    let mut findings = Vec::new();

    for file in &package.files {
        if file.hash_source == HashSource::Computed {
            findings.push(Finding::new(
                Code::ComputedHash,
                name,
                format!(
                    "{what}: the index publishes no sha256 of {}; hashlock computed it from one download (trust on first use)",
                    file.filename
                ),
            ));
        }
        if file.hashes.is_empty() {
            findings.push(Finding::new(
                Code::MissingHash,
                name,
                format!("{what}: {} is published without any hash", file.filename),
            ));
        } else if pip_hash(file).is_none() {
            let algorithms: Vec<&str> = file.hashes.keys().map(String::as_str).collect();
            findings.push(Finding::new(
                Code::WeakHashOnly,
                name,
                format!("{what}: {} has only {}, which pip rejects", file.filename, algorithms.join(", ")),
            ));
        }
    }

    let algorithms: BTreeSet<&str> = package.files.iter().filter_map(|f| pip_hash(f).map(|(alg, _)| alg)).collect();
    if algorithms.len() > 1 {
        let list: Vec<&str> = algorithms.into_iter().collect();
        findings.push(Finding::new(
            Code::MixedAlgorithms,
            name,
            format!("{what}: files are hashed with {}", list.join(", ")),
        ));
    }

    findings.extend(disagreements(package));
    findings.extend(mixed_indexes(package));

    if let Some(reason) = package.files.iter().find_map(|f| f.yanked.as_deref()) {
        let reason = if reason.is_empty() { String::new() } else { format!(": {reason}") };
        findings.push(Finding::new(Code::Yanked, name, format!("{what} is yanked{reason}")));
    }

    match target_file(package, target, formats) {
        TargetFile::Wheel => {}
        TargetFile::SdistOnly => {
            let why = if formats.wheel { "no wheel for" } else { "--no-binary excludes its wheels on" };
            findings.push(Finding::new(
                Code::SdistOnly,
                name,
                format!(
                    "{what}: {why} {}; pip builds the sdist, and its build dependencies are not hash-checked",
                    target.describe()
                ),
            ))
        }
        TargetFile::None => {
            let why = if formats.sdist { "" } else { " (--only-binary excludes its sdist)" };
            findings.push(Finding::new(
                Code::NoFileForTarget,
                name,
                format!("{what}: no file installs on {}{why}", target.describe()),
            ))
        }
    }
    findings
}

/// Two indexes (or two listings) giving different digests of one algorithm for one filename.
fn disagreements(package: &LockedPackage) -> Vec<Finding> {
    let mut seen: BTreeMap<(&str, &str), BTreeSet<&str>> = BTreeMap::new();
    for file in &package.files {
        for (algorithm, hex) in file.hashes.iter() {
            seen.entry((file.filename.as_str(), algorithm.as_str())).or_default().insert(hex.as_str());
        }
    }
    seen.into_iter()
        .filter(|(_, digests)| digests.len() > 1)
        .map(|((filename, algorithm), digests)| {
            let list: Vec<&str> = digests.into_iter().collect();
            Finding::new(
                Code::IndexDisagreement,
                Some(&package.name),
                format!(
                    "{} {}: indexes disagree on the {algorithm} of {filename}: {}",
                    package.name,
                    package.version,
                    list.join(" vs ")
                ),
            )
        })
        .collect()
}

/// Indexes that list different files for one pinned version: the lock would carry the hashes
/// of every index's files, so a file only one index has (another build, say) would pass pip's
/// check. Indexes listing the same files (a mirror) are not mixed; their digests are compared
/// by [`disagreements`].
fn mixed_indexes(package: &LockedPackage) -> Option<Finding> {
    let (_, first) = package.sources.first()?;
    if package.sources.iter().all(|(_, filenames)| filenames == first) {
        return None;
    }
    let gave: Vec<String> = package
        .sources
        .iter()
        .map(|(index, filenames)| format!("{index} lists {}", filenames.iter().cloned().collect::<Vec<_>>().join(", ")))
        .collect();
    Some(Finding::new(
        Code::MixedIndexes,
        Some(&package.name),
        format!("{} {}: the files come from more than one index: {}", package.name, package.version, gave.join("; ")),
    ))
}

/// A project more than one configured index serves: under an unsafe strategy the newest
/// version may come from whichever index an attacker can publish to (dependency confusion).
/// Names every index with the newest version it lists.
pub fn index_shadowing(project: &Project) -> Option<Finding> {
    if project.shadowing().len() < 2 {
        return None;
    }
    let served: Vec<String> = project
        .shadowing()
        .iter()
        .map(|(index, newest)| match newest {
            Some(version) => format!("{} (newest {version})", redact(index)),
            None => format!("{} (no versions)", redact(index)),
        })
        .collect();
    Some(Finding::new(
        Code::IndexShadowing,
        Some(&project.name),
        format!("{} is served by more than one index: {}", project.name, served.join(", ")),
    ))
}

/// What pip would pick for the target among a pinned version's files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TargetFile {
    Wheel,
    SdistOnly,
    None,
}

/// `formats`: what pip may install of the package.
pub fn target_file(package: &LockedPackage, target: &Target, formats: Formats) -> TargetFile {
    let parsed: Vec<DistFilename> =
        package.files.iter().filter_map(|f| DistFilename::parse(&f.filename, &package.name)).collect();
    let wheel = parsed.iter().any(|p| match p {
        DistFilename::Wheel(wheel) => target.wheel_priority(wheel).is_some(),
        DistFilename::Sdist(_) => false,
    });
    if wheel && formats.wheel {
        TargetFile::Wheel
    } else if formats.sdist && parsed.iter().any(|p| !p.is_wheel()) {
        TargetFile::SdistOnly
    } else {
        TargetFile::None
    }
}
