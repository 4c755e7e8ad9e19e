use clap::Parser;

use hashlock::cli::{Cli, Command};
use hashlock::commands;
use hashlock::output::line::escape;
use hashlock::resolve::ResolveError;

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Generate(args) => commands::generate::run(args, &cli.output, &argv),
        Command::Report(args) => commands::report::run(args, &cli.output),
        Command::Audit(args) => commands::audit::run(args, &cli.output),
        Command::Export(args) => commands::export::run(args, &cli.output, &argv),
        Command::Verify(args) => commands::verify::run(args, &cli.output),
        Command::Cache(args) => commands::cache::run(args),
    };
    match result {
        Ok(status) => std::process::exit(status.code()),
        Err(error) => {
            // One line (the chain joined by ": "), except PubGrub's explanation of a conflict.
            // Errors quote index and file text: escaped, so that it can neither drive the
            // terminal nor start a line of its own.
            let text = format!("{error:#}");
            let explanation = matches!(error.downcast_ref::<ResolveError>(), Some(ResolveError::NoSolution(_)));
            let text = if explanation {
                text.split('\n').map(escape).collect::<Vec<_>>().join("\n")
            } else {
                escape(&text).into_owned()
            };
            eprintln!("hashlock: error: {text}");
            std::process::exit(2);
        }
    }
}
