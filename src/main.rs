use clap::{CommandFactory, FromArgMatches};

use hashlock::cli::{Cli, Command};
use hashlock::commands;
use hashlock::output::color::{self, Paint};
use hashlock::output::line::escape;
use hashlock::resolve::ResolveError;

fn main() {
    limit_malloc_arenas();
    let argv: Vec<String> = std::env::args().collect();
    // clap colours its help and usage errors before the flag is parsed: tell it first.
    let matches = Cli::command().color(color_flag(&argv)).get_matches_from(&argv);
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|error| error.exit());
    color::init(cli.output.color);
    let result = match &cli.command {
        Command::Generate(args) => commands::generate::run(args, &cli.output, &argv),
        Command::Report(args) => commands::report::run(args, &cli.output),
        Command::Audit(args) => commands::audit::run(args, &cli.output),
        Command::Export(args) => commands::export::run(args, &cli.output, &argv),
        Command::Verify(args) => commands::verify::run(args, &cli.output),
        Command::Cache(args) => commands::cache::run(args),
        Command::GenerateCheck { files } => commands::generate_check::run(files),
        Command::Completions { shell } => commands::completions::completions(*shell),
        Command::Man => commands::completions::man(),
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
            let prefix = Paint::stderr().severity(hashlock::check::findings::Severity::Error, "error:");
            eprintln!("hashlock: {prefix} {text}");
            std::process::exit(2);
        }
    }
}

/// The last `--color WHEN` / `--color=WHEN` before a `--`, else auto (clap reports a bad value),
/// read ahead of clap for its own messages.
fn color_flag(argv: &[String]) -> clap::ColorChoice {
    let mut choice = clap::ColorChoice::Auto;
    let mut words = argv.iter().skip(1).take_while(|word| *word != "--");
    while let Some(word) = words.next() {
        let value = match word.strip_prefix("--color") {
            Some("") => words.next().map(String::as_str),
            Some(rest) => rest.strip_prefix('='),
            None => None,
        };
        choice = match value {
            Some("always") => clap::ColorChoice::Always,
            Some("never") => clap::ColorChoice::Never,
            Some("auto") => clap::ColorChoice::Auto,
            _ => choice,
        };
    }
    choice
}

/// glibc gives threads that allocate at once arenas of their own, up to eight per core, and
/// memory freed in one is not reused by the others: with the fetch pool's threads each reading
/// pages, peak RSS stood a third above the live heap (apache-airflow with three extras: 200 MB
/// against 150). Two arenas keep it near the heap, at no time cost one could measure.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn limit_malloc_arenas() {
    // SAFETY: mallopt only sets an allocator parameter; called before any other thread runs.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_malloc_arenas() {}
