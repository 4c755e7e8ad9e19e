use clap::Parser;

use hashlock::cli::{Cli, Command};
use hashlock::commands;

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Generate(args) => commands::generate::run(args, &cli.output, &argv),
        Command::Report(args) => commands::report::run(args, &cli.output),
        Command::Audit(args) => commands::audit::run(args, &cli.output),
        Command::Verify(args) => commands::verify::run(args, &cli.output),
        Command::Cache(args) => commands::cache::run(args),
    };
    match result {
        Ok(status) => std::process::exit(status.code()),
        Err(error) => {
            // One line (the chain joined by ": "), except PubGrub's explanation of a conflict.
            eprintln!("hashlock: error: {error:#}");
            std::process::exit(2);
        }
    }
}
