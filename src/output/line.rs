//! What may go on one line of what hashlock writes. Text from an index, a package or a path is
//! escaped where only people read it (comments, reports), and written into a requirement only
//! when pip reads back exactly that text: pip splits a file with Python's `str.splitlines`, cuts
//! ` #` comments, starts options at ` -` and expands `${VAR}` before parsing a requirement.

use std::borrow::Cow;

/// The characters Python's `str.splitlines` ends a line at.
pub const LINE_BREAKS: [char; 10] =
    ['\n', '\r', '\x0b', '\x0c', '\x1c', '\x1d', '\x1e', '\u{85}', '\u{2028}', '\u{2029}'];

/// Text that cannot go into a requirement line, and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("\"{}\" {why}", escape(text))]
pub struct Unwritable {
    pub text: String,
    pub why: &'static str,
}

/// Whether a terminal or pip would not show `c` as itself: control characters (C0 and C1,
/// which include most line breaks), the Unicode line breaks, and the bidirectional controls
/// that reorder what a terminal shows.
fn needs_escape(c: char) -> bool {
    c.is_control()
        || LINE_BREAKS.contains(&c)
        || matches!(c, '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` on one line with nothing a terminal acts on: `\n`, `\t`, `\x1b`, `\u{2028}` instead
/// of the characters.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str(r"\n"),
            '\r' => out.push_str(r"\r"),
            '\t' => out.push_str(r"\t"),
            c if needs_escape(c) && u32::from(c) < 0x100 => out.push_str(&format!(r"\x{:02x}", u32::from(c))),
            c if needs_escape(c) => out.push_str(&format!(r"\u{{{:x}}}", u32::from(c))),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// `text` as a requirement line (or part of one), if pip reads it as it is: no line break, no
/// ` #` (pip cuts a comment there), no ` -` (pip reads options from there) and no `${`
/// (pip puts an environment variable there).
pub fn requirement(text: &str) -> Result<&str, Unwritable> {
    let refuse = |why| Err(Unwritable { text: text.to_string(), why });
    let after_space = |c: char| text.char_indices().any(|(i, x)| x == c && text[..i].ends_with(char::is_whitespace));
    if text.contains(LINE_BREAKS) {
        refuse("holds a line break, where pip would start a new line")
    } else if after_space('#') {
        refuse("holds a `#` after a space, where pip would cut the line as a comment")
    } else if after_space('-') {
        refuse("holds a `-` after a space, where pip would read options")
    } else if text.contains("${") {
        refuse("holds `${`, which pip would expand as an environment variable")
    } else {
        Ok(text)
    }
}

/// `value` as a PEP 508 marker string: in `'...'`, or in `"..."` when it holds a `'` (PEP 508
/// has no escapes, so a value holding both cannot be written).
pub fn quoted(value: &str) -> Result<String, Unwritable> {
    requirement(value)?;
    match (value.contains('\''), value.contains('"')) {
        (false, _) => Ok(format!("'{value}'")),
        (true, false) => Ok(format!("\"{value}\"")),
        (true, true) => Err(Unwritable { text: value.to_string(), why: "holds both quote characters" }),
    }
}

/// `text` for Markdown: escaped as for a terminal, and with the characters that would end a
/// table cell, open markup or an HTML tag backslash-escaped (`_` only where it can: not inside
/// a word such as `x86_64`).
pub fn markdown(text: &str) -> String {
    let escaped: Vec<char> = escape(text).chars().collect();
    let mut out = String::with_capacity(text.len());
    for (i, &c) in escaped.iter().enumerate() {
        let alphanumeric = |j: Option<usize>| j.and_then(|j| escaped.get(j)).is_some_and(|c| c.is_alphanumeric());
        let in_word = c == '_' && alphanumeric(i.checked_sub(1)) && alphanumeric(Some(i + 1));
        if "\\`*_[]<>|~&".contains(c) && !in_word {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_control_characters_and_every_line_break() {
        assert_eq!(escape("plain é"), "plain é");
        assert_eq!(escape("a\nb\tc\x1b[2J"), r"a\nb\tc\x1b[2J");
        for c in LINE_BREAKS {
            assert!(!escape(&format!("x{c}y")).contains(LINE_BREAKS), "{c:?}");
        }
        assert_eq!(escape("\u{85}\u{2028}\u{202e}"), r"\x85\u{2028}\u{202e}");
    }

    #[test]
    fn requirement_text_pip_would_read_otherwise_is_refused() {
        assert_eq!(
            requirement("helper==1.0 ; platform_version == '#1 SMP'"),
            Ok("helper==1.0 ; platform_version == '#1 SMP'")
        );
        for bad in ["a\x0cb", "a #b", "a\t#b", "a --hash=sha256:00", "a${HOME}"] {
            assert!(requirement(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn values_are_quoted_so_that_no_quote_ends_them() {
        assert_eq!(quoted("win32").unwrap(), "'win32'");
        assert_eq!(quoted("x' or '1").unwrap(), "\"x' or '1\"");
        assert_eq!(quoted("say \"hi\"").unwrap(), "'say \"hi\"'");
        let both = quoted("it's \"x\"").unwrap_err();
        assert_eq!(both.to_string(), "\"it's \"x\"\" holds both quote characters");
        assert!(quoted("x\u{2028}y").is_err());
    }

    #[test]
    fn markdown_cannot_break_a_cell_or_open_markup() {
        assert_eq!(markdown("a | <b>x</b>\n*y* `z`"), r"a \| \<b\>x\</b\>\\n\*y\* \`z\`");
        assert_eq!(markdown("x86_64 _em_ __init__"), r"x86_64 \_em\_ \_\_init\_\_");
    }
}
