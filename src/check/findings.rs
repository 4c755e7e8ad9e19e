//! Findings: what stands between a tree and a trustworthy `--require-hashes` install. They are
//! data with stable codes, produced once and rendered by every output format.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use pep508_rs::PackageName;
use serde::Serialize;

use crate::dist::{DistFile, DistFilename, FilenameParts, Formats, HashSource};
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

impl Code {
    /// Every code, in the order SARIF lists its rules (a rule's index must not move).
    pub const ALL: [Code; 36] = [
        Self::MissingHash,
        Self::WeakHashOnly,
        Self::MixedAlgorithms,
        Self::IndexDisagreement,
        Self::MixedIndexes,
        Self::Yanked,
        Self::SdistOnly,
        Self::NoFileForTarget,
        Self::Unpinned,
        Self::MissingDependency,
        Self::HashMismatch,
        Self::IncompleteHashes,
        Self::UnhashedRequirement,
        Self::OrphanedHash,
        Self::Unhashable,
        Self::NotOnIndex,
        Self::LocalMismatch,
        Self::UncoveredFile,
        Self::NoLocalFile,
        Self::FileOption,
        Self::EmptyLock,
        Self::SizeMismatch,
        Self::UnverifiableHash,
        Self::ProvenanceInvalid,
        Self::ProvenanceMissing,
        Self::ProvenanceDropped,
        Self::PublisherChanged,
        Self::PublisherMismatch,
        Self::ComputedHash,
        Self::IndexShadowing,
        Self::InstalledFileModified,
        Self::InstalledFileMissing,
        Self::UnownedFile,
        Self::NotInLock,
        Self::NotInstalled,
        Self::Unverifiable,
    ];

    /// What the finding means, in one sentence, and what to do about it: the rule text that
    /// SARIF consumers (code scanning) show beside each alert.
    pub fn explain(self) -> (&'static str, &'static str) {
        match self {
            Self::MissingHash => (
                "A published or locked file has no hash at all.",
                "An installer cannot check this file. Ask the index (or its mirror) to publish sha256 hashes, or lock the file again where they are published.",
            ),
            Self::WeakHashOnly => (
                "A file's only hashes use md5 or sha1, which pip rejects.",
                "Lock the file again against an index that publishes sha256 (some Nexus or Artifactory set-ups give md5 only).",
            ),
            Self::MixedAlgorithms => (
                "Files of one package, or of one lock, are hashed with different algorithms.",
                "Nothing breaks: pip accepts sha256, sha384 and sha512. Worth knowing when comparing locks.",
            ),
            Self::IndexDisagreement => (
                "Two indexes give different hashes for the same filename.",
                "One of the indexes serves another file under that name. Find out which before installing; use one index for the package.",
            ),
            Self::MixedIndexes => (
                "The indexes that serve a pinned version list different files of it.",
                "A file only one index has would pass the hash check. Take the package from one index.",
            ),
            Self::Yanked => (
                "A pinned version is yanked.",
                "Its maintainers withdrew it, often for a reason given with it. Move the pin to a version that is not yanked.",
            ),
            Self::SdistOnly => (
                "No wheel serves the target: pip builds the sdist, and build dependencies are not hash-checked.",
                "Pin a version with a wheel for the target, or lock the build requirements too (`hashlock generate --build-constraints FILE`).",
            ),
            Self::NoFileForTarget => (
                "No file of the pinned version installs on the target.",
                "The install fails there. Pin a version with a file for this Python and platform.",
            ),
            Self::Unpinned => (
                "A requirement is not pinned with == or ===.",
                "pip --require-hashes refuses it. Regenerate the file so that every requirement is pinned (`hashlock generate`).",
            ),
            Self::MissingDependency => (
                "A dependency of a pinned package, active for the target, is not in the lockfile.",
                "A hash-checked install fails there. Regenerate the lockfile from its inputs.",
            ),
            Self::HashMismatch => (
                "A recorded hash matches no file the index publishes for that version.",
                "The lock is stale or a file was tampered with. Check which before you regenerate the lock.",
            ),
            Self::IncompleteHashes => (
                "Published files of the pinned version have no hash in the lockfile.",
                "Installs fail on the platforms those files serve. Regenerate the lockfile, or `hashlock export` it, to record every hash.",
            ),
            Self::UnhashedRequirement => (
                "A requirement has no --hash.",
                "With hashes elsewhere pip refuses the file; with none at all pip installs it unchecked. Regenerate the file with hashes.",
            ),
            Self::OrphanedHash => (
                "A --hash line is cut off from its requirement by a comment line or a line break, and pip ignores it silently.",
                "Move the comment after the last --hash line of the requirement, or regenerate the file.",
            ),
            Self::Unhashable => (
                "An editable, VCS, URL or directory requirement, which no hash can cover.",
                "Publish it to an index and pin it with hashes, or accept that it is installed unchecked.",
            ),
            Self::NotOnIndex => (
                "The pinned name or version, or a file the lock records, is not on the index.",
                "The install fails against this index. Check the index URL, or move the pin to a published version.",
            ),
            Self::LocalMismatch => (
                "A local file's hash matches neither its requirement's hashes nor the index's.",
                "The download was altered or the lock is stale; the message says which side agrees. Do not install the file.",
            ),
            Self::UncoveredFile => (
                "A local file no requirement covers.",
                "An install from this directory could pick it up unchecked. Remove it, or add its package to the lockfile.",
            ),
            Self::NoLocalFile => {
                ("A requirement with no local file.", "The download is incomplete: an offline install from it fails.")
            }
            Self::FileOption => (
                "An option in the file changes what pip fetches or builds (an index, find-links, trusted hosts, build settings).",
                "Pass index options on the command line or in pip's configuration instead, where they can be reviewed; remove the rest.",
            ),
            Self::EmptyLock => (
                "The lockfile (or the groups selected) records no packages: nothing was checked.",
                "Check that the right file and groups were given.",
            ),
            Self::SizeMismatch => (
                "A file's size in the lock differs from the size the index publishes.",
                "The lock is stale or a file was replaced. Check which before you regenerate the lock.",
            ),
            Self::UnverifiableHash => (
                "A lock records a hash in an algorithm the index publishes none of for that file.",
                "An installer accepts the file on any listed hash, so this one could let another file pass. Lock sha256 hashes the index publishes.",
            ),
            Self::ProvenanceInvalid => (
                "A file's PEP 740 attestation does not verify, signs another file, or names another publisher than the index claims.",
                "Do not install the file until you know why: the index may serve altered bytes or attestations. The finding's reason says which check failed.",
            ),
            Self::ProvenanceMissing => (
                "A file has no PEP 740 provenance (or, with --require-provenance, none that verifies).",
                "Nothing says who published the file. Ask the project to publish with a Trusted Publisher, or accept it knowingly (drop --require-provenance).",
            ),
            Self::ProvenanceDropped => (
                "The pinned release has no provenance, and the release before it had verified provenance.",
                "A release uploaded outside the project's Trusted Publisher is what a stolen upload token looks like. Check with the project before upgrading.",
            ),
            Self::PublisherChanged => (
                "The pinned release is published by another identity than the release before it.",
                "A repository, workflow or account change may be legitimate (a move) or a takeover. Check the project's announcements before trusting it.",
            ),
            Self::PublisherMismatch => (
                "A file's verified publisher is none of the attestation identities the lock records, or the file has no provenance.",
                "The lock pins who may publish these files. Regenerate the lock only once you know why the publisher changed.",
            ),
            Self::ComputedHash => (
                "The index publishes no sha256 of a file, so hashlock wrote the one it computed from a download.",
                "This is trust on first use: the digest is only as good as the download. Prefer an index that publishes sha256.",
            ),
            Self::IndexShadowing => (
                "A project is served by more than one configured index.",
                "With several indexes, a name on the wrong one can shadow the real project (dependency confusion). Use --index-strategy first-index, or serve each name from one index.",
            ),
            Self::InstalledFileModified => (
                "An installed file differs from the bytes of the wheel it came from.",
                "Something changed the environment after install. Reinstall the package from the lock, and find out what changed it.",
            ),
            Self::InstalledFileMissing => (
                "A file the package's wheel installs is missing from the environment.",
                "Reinstall the package from the lock.",
            ),
            Self::UnownedFile => (
                "A file in site-packages or the scripts directory that no installed distribution owns.",
                "A .pth file runs code at every interpreter start, and a stray module can shadow a real one. Remove it unless you know what put it there.",
            ),
            Self::NotInLock => (
                "A distribution is installed that the lock does not name (or in another version or build).",
                "Uninstall it, or add it to the lock.",
            ),
            Self::NotInstalled => (
                "A package the lock names for this environment is not installed.",
                "Install the environment again from the lock.",
            ),
            Self::Unverifiable => (
                "An installed distribution cannot be compared with a wheel (installed from an sdist or a URL, egg-info, editable).",
                "Only its RECORD could be checked. Install it from a wheel with a pinned hash to have it verified.",
            ),
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

/// The wheel pip on `target` would install of `package`: the best-ranked compatible one (of
/// equal ranks, the first by filename).
pub fn best_wheel<'p>(package: &'p LockedPackage, target: &Target) -> Option<&'p DistFile> {
    package
        .files
        .iter()
        .filter_map(|file| match DistFilename::parse(&file.filename, &package.name)? {
            DistFilename::Wheel(wheel) => Some(((target.wheel_priority(&wheel)?, &file.filename), file)),
            DistFilename::Sdist(_) => None,
        })
        .min_by(|(a, _), (b, _)| a.cmp(b))
        .map(|(_, file)| file)
}

/// `formats`: what pip may install of the package.
pub fn target_file(package: &LockedPackage, target: &Target, formats: Formats) -> TargetFile {
    // Split first, parsed whole only when it counts: most locks have hundreds of wheels.
    let any = |kind: &dyn Fn(&FilenameParts) -> bool| {
        package.files.iter().any(|f| {
            FilenameParts::split(&f.filename, &package.name).is_some_and(|parts| kind(&parts))
                && DistFilename::parse(&f.filename, &package.name).is_some()
        })
    };
    let for_target = |parts: &FilenameParts| match *parts {
        FilenameParts::Wheel { python, abi, platform, .. } => {
            target.joined_tags_priority(python, abi, platform).is_some()
        }
        FilenameParts::Sdist { .. } => false,
    };
    if formats.wheel && any(&for_target) {
        TargetFile::Wheel
    } else if formats.sdist && any(&|parts| matches!(parts, FilenameParts::Sdist { .. })) {
        TargetFile::SdistOnly
    } else {
        TargetFile::None
    }
}
