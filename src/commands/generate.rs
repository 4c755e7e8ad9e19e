//! `hashlock generate`: resolve, pin, collect every published hash, write the file.

use std::io::Write;
use std::time::Instant;

use anyhow::Context;

use crate::cli::{GenerateArgs, OutputArgs};
use crate::commands::{ExitStatus, Inputs, command_line_for_header};
use crate::index::http::redact;
use crate::lock::Lock;
use crate::output::requirements::{Header, render};
use crate::output::write_atomic;
use crate::progress::with_progress;
use crate::resolve::source::IndexSource;
use crate::resolve::{ResolveOptions, Source, resolve};
use crate::settings::Settings;
use crate::target::Target;

pub fn run(args: &GenerateArgs, output: &OutputArgs, argv: &[String]) -> anyhow::Result<ExitStatus> {
    let started = Instant::now();
    let inputs = Inputs::read(&args.input)?;
    let settings = Settings::from_args(&args.index, inputs.index_url.as_deref(), &inputs.extra_index_urls)?;
    let target = Target::from_options(args.target.python_version.as_deref(), args.target.python_platform.as_deref())?;
    let client = settings.index_client()?;
    let source = IndexSource::new(&client, target.clone(), settings.jobs);

    let options = ResolveOptions { prereleases: inputs.pre };
    let resolution = with_progress(
        output.quiet,
        || source.status(),
        || resolve(&source, &inputs.requirements, &inputs.constraints, &target, &options),
    )?;
    let lock = Lock::from_resolution(&resolution, |name| source.project(name))?;

    let unhashed = lock.unhashed_files();
    for file in &unhashed {
        let has = if file.algorithms.is_empty() { "no hash".to_string() } else { format!("only {}", file.algorithms.join(", ")) };
        let level = if args.allow_missing_hashes { "warning" } else { "error" };
        eprintln!(
            "hashlock: {level}: {} {}: {} has {has}, and pip --require-hashes accepts only sha256, sha384 or sha512",
            file.package, file.version, file.filename
        );
    }
    if !unhashed.is_empty() && !args.allow_missing_hashes {
        eprintln!("hashlock: no file written; pass --allow-missing-hashes to write it anyway");
        return Ok(ExitStatus::Findings);
    }

    let header = Header {
        command: command_line_for_header(argv),
        target: target.describe(),
        indexes: settings.index.all().iter().map(redact).collect(),
    };
    let text = render(&lock, &header);
    match &args.output {
        Some(path) => write_atomic(path, text.as_bytes()).with_context(|| format!("cannot write {}", path.display()))?,
        None => std::io::stdout().lock().write_all(text.as_bytes()).context("cannot write to stdout")?,
    }

    if output.verbose {
        let stats = client.http().stats();
        eprintln!(
            "hashlock: {} packages, {} hashes; {} requests, {} KiB, {} retries; {:.2}s",
            lock.packages.len(),
            lock.packages.iter().map(|p| p.pip_hashes().len()).sum::<usize>(),
            stats.requests,
            stats.bytes / 1024,
            stats.retries,
            started.elapsed().as_secs_f64()
        );
    }
    Ok(ExitStatus::Success)
}
