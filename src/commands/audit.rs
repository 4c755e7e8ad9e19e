//! `hashlock audit LOCKFILE`: check an existing lockfile of any format against the index, for CI.

use std::path::Path;
use std::time::Instant;

use anyhow::bail;

use pep508_rs::pep440_rs::{Operator, VersionSpecifiers};

use crate::check::attestations::{Assessment, LockedIdentities};
use crate::check::audit::{Selection, audit};
use crate::check::findings::Finding;
use crate::cli::{AuditArgs, BuildArgs, IndexArgs, LockArgs, OutputArgs, ProvenanceArgs, TargetArgs};
use crate::commands::ExitStatus;
use crate::commands::inputs::Inputs;
use crate::commands::session::{Session, check_provenance, emit_reports};
use crate::lock::{Lock, LockedPackage};
use crate::lockfile::{self, LockFormat, Lockfile, Selector};
use crate::output::report::Format;
use crate::progress::with_progress;
use crate::report::Report;

/// Several lockfiles (as pre-commit passes them) are audited one after the other and reported
/// in one document; nothing is written unless every one could be read and checked.
pub fn run(args: &AuditArgs, output: &OutputArgs) -> anyhow::Result<ExitStatus> {
    if args.files.len() > 1 && args.report.format == Format::Json {
        bail!("--format json reports on one LOCKFILE, and {} were given: audit them one at a time", args.files.len());
    }
    let reports = args
        .files
        .iter()
        .map(|file| {
            let audited =
                Audited::run(file, &args.lock, &args.provenance, &args.build, &args.target, &args.index, output)?;
            let session = &audited.session;
            let lockfile = &audited.lockfile;
            Ok(Report::new(
                &audited.lock,
                &audited.findings,
                &session.target,
                session.indexes(),
                &lockfile.format_control,
            )
            .with_provenance(&audited.provenance)
            .about_file(file))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    emit_reports(&reports, &args.report)
}

/// A lockfile, audited: what `audit` reports and `export` writes from.
pub struct Audited {
    pub lockfile: Lockfile,
    pub session: Session,
    /// The lock's pinned packages with the index's files of each.
    pub lock: Lock,
    /// The provenance of the lock's files (for `lock` package for package).
    pub provenance: Assessment,
    pub findings: Vec<Finding>,
}

impl Audited {
    pub fn run(
        path: &Path,
        lock_args: &LockArgs,
        provenance: &ProvenanceArgs,
        build: &BuildArgs,
        target: &TargetArgs,
        index: &IndexArgs,
        output: &OutputArgs,
    ) -> anyhow::Result<Self> {
        let started = Instant::now();
        let lockfile = lockfile::read(path, lock_args.lock_format)?;
        // The index the lock was made against, below the command line. A requirements file's
        // own `--index-url` is a finding instead: pip would use it, and it needs checking itself.
        // Packages recorded without an index (Poetry's default source beside a `legacy` one)
        // come from the configured index: the lock's indexes are then added to it.
        let beside_default = lockfile.packages.iter().any(|p| p.index.is_none() && p.non_index_source.is_none());
        let (primary, extra) = match lockfile.indexes.split_first() {
            Some((first, rest)) if !beside_default => (Some(first.clone()), rest.to_vec()),
            _ => (None, lockfile.indexes.clone()),
        };
        let recorded = Inputs { index_url: primary, extra_index_urls: extra, ..Inputs::default() };
        let indexes = (lockfile.format != LockFormat::Requirements).then_some(&recorded);
        let mut session = Session::new(index, Some(&target_for(&lockfile, target)), indexes)?;
        session.enable_builds(build)?;
        // A project on more than one index is a finding whatever the strategy.
        session.client.survey_all_indexes();
        let source = session.source();
        let selection = Selection {
            selectors: lock_args
                .group
                .iter()
                .map(|name| Selector::group(name))
                .chain(lock_args.extra.iter().map(|name| Selector::extra(name)))
                .collect(),
        };
        let (lock, mut findings) =
            with_progress(output.quiet, || source.status(), || audit(&lockfile, &selection, &source, &session.target))?;
        findings.extend(session.shadowing(&lock));
        let provenance =
            check_provenance(&source, &lock, provenance, &|package| locked_identities(&lockfile, package))?;
        findings.extend(provenance.findings.iter().cloned());
        findings.sort();
        session.check_cache()?;
        session.summarize(&source, &lock, started, output.verbose);
        Ok(Self { lockfile, session, lock, provenance, findings })
    }
}

/// The publishers `lockfile` records for the pin `package`, with the files it records.
fn locked_identities<'l>(lockfile: &'l Lockfile, package: &LockedPackage) -> Option<LockedIdentities<'l>> {
    let recorded = lockfile
        .packages
        .iter()
        .find(|p| p.name == package.name && p.version.as_ref() == Some(&package.version))
        .filter(|p| !p.attestation_identities.is_empty())?;
    Some(LockedIdentities {
        identities: &recorded.attestation_identities,
        filenames: recorded.artifacts.iter().filter_map(|a| a.filename.as_deref()).collect(),
        location: &recorded.location,
    })
}

/// The environments to audit for: as given; else every one a universal lock covers (from its
/// lowest Python); else the Python a single-environment lock names, on this platform.
fn target_for(lockfile: &Lockfile, given: &TargetArgs) -> TargetArgs {
    if given.universal {
        return given.clone();
    }
    if lockfile.universal && given.python_version.is_none() && given.python_platform.is_none() {
        let lowest = lockfile.requires_python.as_deref().and_then(lowest_minor);
        return TargetArgs { universal: true, python_version: lowest, python_platform: None };
    }
    TargetArgs {
        python_version: given.python_version.clone().or_else(|| lockfile.python_version.clone()),
        ..given.clone()
    }
}

/// `X.Y` of the lowest Python a `requires-python` admits (`>=3.9`, `~=3.10.1`, `==3.11.*`).
fn lowest_minor(requires_python: &str) -> Option<String> {
    let specifiers: VersionSpecifiers = requires_python.parse().ok()?;
    specifiers
        .iter()
        .filter(|s| {
            matches!(
                s.operator(),
                Operator::GreaterThanEqual
                    | Operator::GreaterThan
                    | Operator::TildeEqual
                    | Operator::Equal
                    | Operator::EqualStar
                    | Operator::ExactEqual
            )
        })
        .map(|s| s.version().release().iter().copied().chain([0, 0]).take(2).collect::<Vec<u64>>())
        .max()
        .map(|release| format!("{}.{}", release[0], release[1]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_universal_lock_is_audited_from_the_lowest_python_it_admits() {
        assert_eq!(lowest_minor(">=3.9").as_deref(), Some("3.9"));
        assert_eq!(lowest_minor(">=3.8, <4").as_deref(), Some("3.8"));
        assert_eq!(lowest_minor("~=3.10.1").as_deref(), Some("3.10"));
        assert_eq!(lowest_minor(">=3").as_deref(), Some("3.0"));
        assert_eq!(lowest_minor("<3.13"), None);
    }
}
