//! One module per subcommand, each a short composition of the library stages returning an
//! [`ExitStatus`]; errors go up to `main`, which prints one line and exits 2.

pub mod audit;
pub mod cache;
pub mod generate;
mod inputs;
pub mod report;
pub mod session;
pub mod verify;

pub use inputs::Inputs;

/// How a command that ran to the end went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: done, nothing to report.
    Success,
    /// 1: findings at or above the failing severity (e.g. a file without a usable hash).
    Findings,
}

impl ExitStatus {
    pub fn code(self) -> i32 {
        match self {
            Self::Success => 0,
            Self::Findings => 1,
        }
    }
}

/// Flags that do not change what a file says, left out of its header so that output is
/// the same whatever the cache or verbosity (`(flag, takes a value)`).
const HEADER_OMITS: [(&str, bool); 9] = [
    ("--cache-dir", true),
    ("--no-cache", false),
    ("--refresh", false),
    ("--offline", false),
    ("--jobs", true),
    ("-j", true),
    ("--timeout", true),
    ("--quiet", false),
    ("--verbose", false),
];

/// The command line for a file header: credentials redacted, cache and verbosity flags left
/// out, arguments quoted for a POSIX shell where needed.
pub fn command_line_for_header(args: &[String]) -> String {
    let mut words = vec!["hashlock".to_string()];
    let mut skip_value = false;
    for arg in args.iter().skip(1) {
        if std::mem::take(&mut skip_value) {
            continue;
        }
        let flag = arg.split_once('=').map_or(arg.as_str(), |(flag, _)| flag);
        if matches!(arg.as_str(), "-q" | "-v") {
            continue;
        }
        if let Some((_, takes_value)) = HEADER_OMITS.iter().find(|(name, _)| *name == flag) {
            skip_value = *takes_value && !arg.contains('=');
            continue;
        }
        words.push(shell_quote(&redact_word(arg)));
    }
    words.join(" ")
}

/// Redacts credentials in a URL, alone or as the value of `--flag=URL`.
fn redact_word(arg: &str) -> String {
    let (prefix, value) = match arg.split_once('=') {
        Some((flag, value)) if flag.starts_with('-') => (format!("{flag}="), value),
        _ => (String::new(), arg),
    };
    match reqwest::Url::parse(value) {
        Ok(url) if url.has_host() => format!("{prefix}{}", crate::index::http::redact(&url)),
        _ => arg.to_string(),
    }
}

fn shell_quote(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./:=@,+%".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(args: &[&str]) -> String {
        command_line_for_header(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn header_drops_cache_flags_and_redacts() {
        let line = header(&[
            "/usr/bin/hashlock",
            "generate",
            "requests[socks]>=2",
            "--cache-dir",
            "/tmp/c",
            "--offline",
            "-j=8",
            "--index-url=https://user:secret@host.example/simple",
            "-o",
            "out.txt",
        ]);
        assert_eq!(
            line,
            "hashlock generate 'requests[socks]>=2' '--index-url=https://user:***@host.example/simple' -o out.txt"
        );
    }
}
