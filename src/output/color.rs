//! Whether text output is coloured: `--color always` forces it (even into a pipe or a file),
//! `never` turns it off, `auto` colours a terminal unless `NO_COLOR` is set to something.
//! Decided once per process, as the flag is global.

use std::io::IsTerminal;
use std::sync::OnceLock;

use clap::ColorChoice;

use crate::check::findings::Severity;

static CHOICE: OnceLock<ColorChoice> = OnceLock::new();

/// Records `--color` for the whole run (the first call wins).
pub fn init(choice: ColorChoice) {
    let _ = CHOICE.set(choice);
}

/// The choice for `terminal` (whether the output goes to one) and the value of `NO_COLOR`.
pub fn decide(choice: ColorChoice, terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => terminal && no_color.is_none_or(|value| value.is_empty()),
    }
}

/// SGR escapes, or nothing, for one destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Paint(bool);

impl Paint {
    /// For stdout, or for the file `path` (never a terminal).
    pub fn for_output(path: Option<&std::path::Path>) -> Self {
        Self::new(path.is_none() && std::io::stdout().is_terminal())
    }

    pub fn stderr() -> Self {
        Self::new(std::io::stderr().is_terminal())
    }

    pub const PLAIN: Self = Self(false);

    fn new(terminal: bool) -> Self {
        let choice = CHOICE.get().copied().unwrap_or(ColorChoice::Auto);
        Self(decide(choice, terminal, std::env::var_os("NO_COLOR").as_deref()))
    }

    /// `text` in the colour of `severity`: red, yellow, cyan.
    pub fn severity(self, severity: Severity, text: &str) -> String {
        let code = match severity {
            Severity::Error => "1;31",
            Severity::Warning => "1;33",
            Severity::Info => "1;36",
        };
        self.sgr(code, text)
    }

    /// `text` in green (all is well) or red.
    pub fn verdict(self, good: bool, text: &str) -> String {
        self.sgr(if good { "32" } else { "31" }, text)
    }

    fn sgr(self, code: &str, text: &str) -> String {
        if self.0 { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_string() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn always_and_never_override_the_terminal_and_no_color() {
        for (terminal, no_color) in [(false, None), (true, Some(OsStr::new("1")))] {
            assert!(decide(ColorChoice::Always, terminal, no_color));
            assert!(!decide(ColorChoice::Never, !terminal, None));
        }
        assert!(decide(ColorChoice::Auto, true, None));
        assert!(decide(ColorChoice::Auto, true, Some(OsStr::new(""))), "an empty NO_COLOR does not count");
        assert!(!decide(ColorChoice::Auto, true, Some(OsStr::new("1"))));
        assert!(!decide(ColorChoice::Auto, false, None));
        assert_eq!(Paint::PLAIN.severity(Severity::Error, "ERROR"), "ERROR");
        assert_eq!(Paint(true).severity(Severity::Error, "ERROR"), "\x1b[1;31mERROR\x1b[0m");
    }
}
