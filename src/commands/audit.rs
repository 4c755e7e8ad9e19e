//! `hashlock audit FILE`: check an existing requirements file against the index, for CI.

use std::time::Instant;

use crate::audit::audit;
use crate::cli::{AuditArgs, OutputArgs};
use crate::commands::ExitStatus;
use crate::commands::session::{Session, emit_report};
use crate::progress::with_progress;
use crate::report::Report;
use crate::reqfile;

pub fn run(args: &AuditArgs, output: &OutputArgs) -> anyhow::Result<ExitStatus> {
    let started = Instant::now();
    let file = reqfile::parse_file(&args.file)?;
    let session = Session::new(&args.index, Some(&args.target), None)?;
    let source = session.source();
    let (lock, findings) = with_progress(output.quiet, || source.status(), || audit(&file, &source, &session.target))?;
    session.summarize(&source, &lock, started, output.verbose);
    emit_report(&Report::new(&lock, &findings, &session.target, session.indexes(), &file.format_control), &args.report)
}
