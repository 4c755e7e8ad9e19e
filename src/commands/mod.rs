//! One module per subcommand, each a short composition of the library stages returning an
//! [`ExitStatus`]; errors go up to `main`, which prints one line and exits 2.

pub mod audit;
pub mod cache;
pub mod completions;
pub mod export;
pub mod generate;
pub mod generate_check;
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
const HEADER_OMITS: [(&str, bool); 10] = [
    ("--cache-dir", true),
    ("--no-cache", false),
    ("--refresh", false),
    ("--offline", false),
    ("--jobs", true),
    ("-j", true),
    ("--timeout", true),
    ("--build-timeout", true),
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
        words.push(shell_quote(&crate::index::http::redact_text(arg)));
    }
    words.join(" ")
}

/// Quotes a word for a POSIX shell. Words with control characters or Unicode line breaks
/// become `$'...'` with escapes, so the header comment stays one line for pip.
fn shell_quote(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./:=@,+%".contains(c);
    let escaped = |c: char| c.is_control() || matches!(c, '\u{2028}' | '\u{2029}');
    if !word.is_empty() && word.chars().all(plain) {
        word.to_string()
    } else if word.chars().any(escaped) {
        let mut quoted = String::from("$'");
        let mut after_hex = false;
        for c in word.chars() {
            // POSIX leaves `\xHHH` unspecified: a hex digit after `\xHH` starts a new `$'...'`.
            if std::mem::take(&mut after_hex) && c.is_ascii_hexdigit() {
                quoted.push_str("'$'");
            }
            match c {
                '\n' => quoted.push_str(r"\n"),
                '\t' => quoted.push_str(r"\t"),
                '\r' => quoted.push_str(r"\r"),
                '\\' => quoted.push_str(r"\\"),
                '\'' => quoted.push_str(r"\'"),
                c if escaped(c) => {
                    let mut utf8 = [0; 4];
                    c.encode_utf8(&mut utf8).bytes().for_each(|b| quoted.push_str(&format!(r"\x{b:02x}")));
                    after_hex = true;
                }
                c => quoted.push(c),
            }
        }
        quoted.push('\'');
        quoted
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
            "hashlock generate 'requests[socks]>=2' '--index-url=https://***@host.example/simple' -o out.txt"
        );
    }

    #[test]
    fn header_stays_one_line_with_control_characters() {
        // A line break in the header comment would make pip read the rest as a requirement.
        assert_eq!(header(&["hashlock", "generate", "foo", "-o", "a\nb.txt"]), "hashlock generate foo -o $'a\\nb.txt'");
        let line = header(&["hashlock", "generate", "it's\t\r\x1b\u{85}\u{2028}\\ é"]);
        assert_eq!(line, r"hashlock generate $'it\'s\t\r\x1b\xc2\x85\xe2\x80\xa8\\ é'");
        assert_eq!(header(&["hashlock", "a\x1bBc\x7f1"]), r"hashlock $'a\x1b'$'Bc\x7f'$'1'");
        // Python's `str.splitlines`, which pip reads requirements files with.
        let breaks = ['\n', '\r', '\x0b', '\x0c', '\x1c', '\x1d', '\x1e', '\u{85}', '\u{2028}', '\u{2029}'];
        for c in breaks {
            assert!(!header(&["hashlock", &format!("x{c}y")]).contains(breaks), "{c:?}");
        }
    }
}
