//! `hashlock generate`: resolve, pin, collect every published hash, write the file.

use std::time::Instant;

use crate::cli::{GenerateArgs, OutputArgs};
use crate::commands::session::{Session, emit, format_for_path};
use crate::commands::{ExitStatus, Inputs, command_line_for_header};
use crate::findings::{Code, check_lock};
use crate::output::line::escape;
use crate::output::report::render as render_report;
use crate::output::requirements::{Header, render};
use crate::report::Report;

pub fn run(args: &GenerateArgs, output: &OutputArgs, argv: &[String]) -> anyhow::Result<ExitStatus> {
    let started = Instant::now();
    let inputs = Inputs::read(&args.input)?;
    let session = Session::new(&args.index, Some(&args.target), Some(&inputs))?;
    let source = session.source();
    let lock = session.lock(&source, &inputs, output)?;

    let findings = check_lock(&lock, &session.target);
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
    if unhashed || disagreeing {
        let hint = if unhashed { "; pass --allow-missing-hashes to write it anyway" } else { "" };
        eprintln!("hashlock: no file written{hint}");
        return Ok(ExitStatus::Findings);
    }

    let header = Header {
        command: command_line_for_header(argv),
        target: session.target.describe(),
        indexes: session.indexes(),
    };
    let requirements = render(&lock, &header)?;
    let report = args.report.as_deref().map(|path| {
        let report = Report::new(&lock, &findings, &session.target, session.indexes());
        (path, render_report(&report, format_for_path(path)))
    });
    // The requirements file first: if it cannot be written, no report claims it was.
    emit(&requirements, args.output.as_deref())?;
    if let Some((path, text)) = report {
        emit(&text, Some(path))?;
    }

    session.summarize(&source, &lock, started, output.verbose);
    Ok(ExitStatus::Success)
}
