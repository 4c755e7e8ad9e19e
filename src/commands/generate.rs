//! `hashlock generate`: resolve, pin, collect every published hash, write the file.

use std::time::Instant;

use crate::cli::{GenerateArgs, OutputArgs};
use anyhow::Context;

use crate::check::attestations::{Assessment, PublishersByPin};
use crate::check::findings::{Code, Severity, check_lock};
use crate::commands::session::{Session, check_provenance, emit, format_for_path, lock_build_requirements};
use crate::commands::{ExitStatus, Inputs, command_line_for_header};
use crate::lock::Lock;
use crate::lockfile::requirements::FormatControl;
use crate::metadata::build::BuildSystem;
use crate::output::LockOutput;
use crate::output::color::Paint;
use crate::output::line::escape;
use crate::output::pylock;
use crate::output::report::render as render_report;
use crate::output::requirements::{Header, render};
use crate::report::Report;
use crate::target::Target;

/// The hashed build requirements of every sdist the target builds, resolved together (pip
/// applies one set of build constraints to every build), as a requirements file.
fn build_constraints(
    session: &Session,
    builds: &[(String, String, BuildSystem)],
    header: &Header,
) -> anyhow::Result<String> {
    let mut requires: Vec<pep508_rs::Requirement> = Vec::new();
    for (name, version, build) in builds {
        for text in &build.requires {
            let requirement = crate::requirement::parse(text)
                .map_err(|e| anyhow::anyhow!("{name} {version}: build requirement `{text}`: {e}"))?;
            if !requires.contains(&requirement) {
                requires.push(requirement);
            }
        }
    }
    let lock = match requires.is_empty() {
        true => crate::lock::Lock { packages: Vec::new() },
        false => lock_build_requirements(&session.build_client, session.settings.jobs, &requires, &session.target)
            .context("the build requirements")?,
    };
    let built: Vec<String> = builds.iter().map(|(name, version, _)| format!("{name} {version}")).collect();
    let built = if built.is_empty() { "none".to_string() } else { built.join(", ") };
    let header = Header { target: format!("{}; build requirements of: {built}", header.target), ..header.clone() };
    Ok(render(&lock, &header)?)
}

pub fn run(args: &GenerateArgs, output: &OutputArgs, argv: &[String]) -> anyhow::Result<ExitStatus> {
    let started = Instant::now();
    // Before resolving: a name pip would read as the other format is a mistake to say at once.
    let format = LockOutput::choose(args.write.format, args.write.output.as_deref()).map_err(anyhow::Error::msg)?;
    let mut inputs = Inputs::read(&args.input)?;
    let mut session = Session::new(&args.index, Some(&args.target), Some(&inputs))?;
    session.enable_builds(&args.build)?;
    inputs.build_projects(&session)?;
    let source = session.source();
    let mut lock = session.lock(&source, &inputs, output)?;
    if args.compute_missing_hashes {
        let computed = crate::computed::fill_missing(&session.client, &mut lock, session.settings.jobs)?;
        if computed > 0 && !output.quiet {
            eprintln!("hashlock: warning: computed the sha256 of {computed} files the index publishes none for");
        }
    }

    let mut findings = check_lock(&lock, &session.target);
    let shadowing = session.shadowing(&lock);
    for finding in shadowing.iter().filter(|_| !output.quiet) {
        eprintln!("hashlock: warning: {}", escape(&finding.message));
    }
    findings.extend(shadowing);
    // Verified where it is written (a pylock.toml's attestation identities), reported or required.
    let wants_provenance = format == LockOutput::Pylock || args.provenance.require_provenance || args.report.is_some();
    let provenance = match wants_provenance {
        true => check_provenance(&source, &lock, &args.provenance, &|_| None)?,
        false => Assessment::default(),
    };
    let mut unproven = false;
    for finding in provenance.findings.iter().filter(|f| f.severity >= Severity::Warning) {
        let blocks = finding.severity == Severity::Error && args.provenance.require_provenance;
        unproven |= blocks;
        if blocks || !output.quiet {
            let level = if blocks { Severity::Error } else { Severity::Warning };
            eprintln!("hashlock: {level}: [{}] {}", finding.code, escape(&finding.message));
        }
    }
    findings.extend(provenance.findings.iter().cloned());
    findings.sort();
    let (mut unhashed, mut disagreeing) = (false, false);
    for file in lock.unhashed_files() {
        let has = if file.algorithms.is_empty() {
            "no hash".to_string()
        } else {
            format!("only {}", file.algorithms.join(", "))
        };
        unhashed |= !args.allow_missing_hashes;
        if !args.allow_missing_hashes || !output.quiet {
            let level = if args.allow_missing_hashes { "warning" } else { "error" };
            eprintln!(
                "hashlock: {level}: {} {}: {} has {has}, and pip --require-hashes accepts only sha256, sha384 or sha512",
                file.package, file.version, file.filename
            );
        }
    }
    // Two indexes serving different bytes under one filename, or different files of one version:
    // writing every digest would let either index's file pass pip's check, so nothing is written.
    for finding in findings.iter().filter(|f| matches!(f.code, Code::IndexDisagreement | Code::MixedIndexes)) {
        eprintln!("hashlock: error: {}", escape(&finding.message));
        disagreeing = true;
    }
    if unhashed || disagreeing || unproven {
        let hint = match unhashed {
            true => {
                "; pass --compute-missing-hashes to download those files and write their sha256 (trust on first use), or --allow-missing-hashes to write it anyway"
            }
            false => "",
        };
        eprintln!("hashlock: no file written{hint}");
        return Ok(ExitStatus::Findings);
    }

    let header = Header {
        command: command_line_for_header(argv),
        target: session.target.describe(),
        indexes: session.indexes(),
        stale: session.client.stale_pages(),
    };
    for stale in header.stale.iter().filter(|_| !output.quiet) {
        eprintln!("hashlock: warning: the index was unreachable; used a stale cached page: {}", escape(stale));
    }
    let publishers = provenance.identities(&lock);
    let written = render_lock(format, &lock, &header, &session.target, &publishers, output.quiet)?;
    let wanted = args.report.is_some() || args.build_constraints.is_some();
    let builds = if wanted { session.build_systems(&lock, args.build_constraints.is_some())? } else { Vec::new() };
    let build_constraints = match args.build_constraints.as_deref() {
        Some(path) => Some((path, build_constraints(&session, &builds, &header)?)),
        None => None,
    };
    let report = match args.report.as_deref() {
        Some(path) => {
            let report = Report::new(&lock, &findings, &session.target, session.indexes(), &FormatControl::default())
                .with_builds(builds)
                .with_provenance(&provenance);
            Some((path, render_report(&report, format_for_path(path), Paint::for_output(Some(path)))))
        }
        None => None,
    };
    session.check_cache()?;
    // The lock first: if it cannot be written, no other file claims it was.
    emit(&written, args.write.output.as_deref())?;
    for (path, text) in build_constraints.into_iter().chain(report) {
        emit(&text, Some(path))?;
    }

    session.summarize(&source, &lock, started, output.verbose);
    // The process exits next: freeing the run's pages, metadata and threads piece by piece
    // cost a warm run a millisecond in ten.
    std::mem::forget((session, source, lock));
    Ok(ExitStatus::Success)
}

/// The lock as a requirements file or a pylock.toml (each package in `publishers` locked to
/// them); for the latter, files it cannot list are said on stderr (unless `quiet`).
pub fn render_lock(
    format: LockOutput,
    lock: &Lock,
    header: &Header,
    target: &Target,
    publishers: &PublishersByPin,
    quiet: bool,
) -> anyhow::Result<String> {
    Ok(match format {
        LockOutput::Requirements => render(lock, header)?,
        LockOutput::Pylock => {
            let pylock = pylock::render(lock, header, target, publishers)?;
            for left_out in pylock.left_out.iter().filter(|_| !quiet) {
                eprintln!("hashlock: warning: {}", escape(left_out));
            }
            pylock.text
        }
    })
}
