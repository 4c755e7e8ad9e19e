//! `hashlock export LOCKFILE`: a lockfile of any format, audited, rewritten as a
//! `--require-hashes` requirements file with every hash the index publishes for its pins.

use std::collections::BTreeSet;

use pep508_rs::PackageName;

use crate::check::findings::{Code, Severity};
use crate::cli::{ExportArgs, OutputArgs};
use crate::commands::audit::Audited;
use crate::commands::generate::render_lock;
use crate::commands::session::emit;
use crate::commands::{ExitStatus, command_line_for_header};
use crate::lockfile::Lockfile;
use crate::output::LockOutput;
use crate::output::line::escape;
use crate::output::requirements::Header;

pub fn run(args: &ExportArgs, output: &OutputArgs, argv: &[String]) -> anyhow::Result<ExitStatus> {
    // Before auditing: a name pip would read as the other format is a mistake to say at once.
    let format = LockOutput::choose(args.write.format, args.write.output.as_deref()).map_err(anyhow::Error::msg)?;
    let mut audited =
        Audited::run(&args.file, &args.lock, &args.provenance, &args.build, &args.target, &args.index, output)?;
    let mut blocked = false;
    for finding in &audited.findings {
        let location = finding.location.as_deref().map(|l| format!("{l}: ")).unwrap_or_default();
        // The export writes every hash the index publishes for a pin, which is what these lack.
        let repaired = matches!(finding.code, Code::IncompleteHashes | Code::UnhashedRequirement);
        let blocks = finding.severity == Severity::Error && !repaired;
        blocked |= blocks;
        if blocks || !output.quiet {
            let severity = if repaired { "repaired" } else { finding.severity.as_str() };
            let line = format!("{severity}: {location}[{}] {}", finding.code, finding.message);
            eprintln!("hashlock: {}", escape(&line));
        }
    }
    // What the audit found wrong would be copied into the file, or make pip refuse it.
    if blocked {
        eprintln!("hashlock: no file written: the lock has errors (see `hashlock audit {}`)", args.file.display());
        return Ok(ExitStatus::Findings);
    }
    for package in &mut audited.lock.packages {
        package.required_by.extend(dependents(&audited.lockfile, &package.name));
    }
    let header = Header {
        command: command_line_for_header(argv),
        target: format!("{} (exported from {})", audited.session.target.describe(), audited.lockfile.format.describe()),
        indexes: audited.session.indexes(),
        stale: audited.session.client.stale_pages(),
    };
    let publishers = audited.provenance.identities(&audited.lock);
    let written = render_lock(format, &audited.lock, &header, &audited.session.target, &publishers, output.quiet)?;
    emit(&written, args.write.output.as_deref())?;
    Ok(ExitStatus::Success)
}

/// The packages whose recorded dependencies name `name`, for the `# via` comments.
fn dependents(lockfile: &Lockfile, name: &PackageName) -> BTreeSet<String> {
    lockfile
        .packages
        .iter()
        .filter(|p| p.dependencies.as_ref().is_some_and(|dependencies| dependencies.contains(name)))
        .map(|p| p.name.to_string())
        .collect()
}
