//! `hashlock report`: resolve like `generate`, then report the hash evidence and a verdict.

use std::time::Instant;

use crate::cli::{OutputArgs, ReportArgs};
use crate::commands::session::{Session, emit_report};
use crate::commands::{ExitStatus, Inputs};
use crate::findings::check_lock;
use crate::report::Report;

pub fn run(args: &ReportArgs, output: &OutputArgs) -> anyhow::Result<ExitStatus> {
    let started = Instant::now();
    let inputs = Inputs::read(&args.input)?;
    let session = Session::new(&args.index, Some(&args.target), Some(&inputs))?;
    let source = session.source();
    let lock = session.lock(&source, &inputs, output)?;
    let findings = check_lock(&lock, &session.target);
    session.summarize(&source, &lock, started, output.verbose);
    emit_report(&Report::new(&lock, &findings, &session.target, session.indexes()), &args.report)
}
