//! `hashlock report`: resolve like `generate`, then report the hash evidence and a verdict.

use std::time::Instant;

use crate::check::findings::check_lock;
use crate::cli::{OutputArgs, ReportArgs};
use crate::commands::session::{Session, check_provenance, emit_report};
use crate::commands::{ExitStatus, Inputs};
use crate::lockfile::requirements::FormatControl;
use crate::report::Report;

pub fn run(args: &ReportArgs, output: &OutputArgs) -> anyhow::Result<ExitStatus> {
    let started = Instant::now();
    let mut inputs = Inputs::read(&args.input)?;
    let mut session = Session::new(&args.index, Some(&args.target), Some(&inputs))?;
    session.enable_builds(&args.build)?;
    inputs.build_projects(&session)?;
    let source = session.source();
    let lock = session.lock(&source, &inputs, output)?;
    let mut findings = check_lock(&lock, &session.target);
    findings.extend(session.shadowing(&lock));
    let provenance = check_provenance(&source, &lock, &args.provenance, &|_| None)?;
    findings.extend(provenance.findings.iter().cloned());
    findings.sort();
    session.summarize(&source, &lock, started, output.verbose);
    let report = Report::new(&lock, &findings, &session.target, session.indexes(), &FormatControl::default())
        .with_builds(session.build_systems(&lock, false)?)
        .with_provenance(&provenance);
    // Findings about the resolved tree belong to no line: code scanning shows them on the
    // first requirements file.
    let report = match args.input.requirement_files.first() {
        Some(file) => report.about_file(file),
        None => report,
    };
    session.check_cache()?;
    emit_report(&report, &args.report)
}
