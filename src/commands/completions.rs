//! `hashlock completions SHELL` and `hashlock man`: made from the clap definitions, so that they
//! offer exactly what the command accepts.

use std::io::Write;

use anyhow::Context;
use clap::CommandFactory;

use crate::cli::Cli;
use crate::commands::ExitStatus;

pub fn completions(shell: clap_complete::Shell) -> anyhow::Result<ExitStatus> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "hashlock", &mut script);
    std::io::stdout().lock().write_all(&script).context("cannot write to stdout")?;
    Ok(ExitStatus::Success)
}

/// The man page, `hashlock(1)`, in roff.
pub fn man() -> anyhow::Result<ExitStatus> {
    let mut page = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut page).context("cannot render the man page")?;
    std::io::stdout().lock().write_all(&page).context("cannot write to stdout")?;
    Ok(ExitStatus::Success)
}
