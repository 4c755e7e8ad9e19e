//! PEP 508 requirements from untrusted text (requirements files, the command line, and the
//! `Requires-Dist` of index metadata), parsed without ever panicking.

use std::str::FromStr;

use pep508_rs::Requirement;

/// A PEP 508 requirement; the error is one line.
pub fn parse(text: &str) -> Result<Requirement, String> {
    let message = |error: pep508_rs::Pep508Error| one_line(&error);
    guard_name_ends(text)?;
    // pep508_rs 0.9 also panics on some non-ASCII text in its error paths. PEP 508 allows
    // non-ASCII only inside quoted marker strings, so an ASCII stand-in parses exactly when the
    // original does; only then is the original parsed.
    if !text.is_ascii() {
        let ascii: String = text.chars().map(|c| if c.is_ascii() { c } else { '?' }).collect();
        Requirement::from_str(&ascii).map_err(message)?;
    }
    Requirement::from_str(text).map_err(message)
}

/// The first line of an error message: parser errors draw a caret diagram on the next lines,
/// but hashlock's messages are one line each.
pub(crate) fn one_line(err: &impl std::fmt::Display) -> String {
    let message = err.to_string();
    let first = message.lines().next().unwrap_or_default();
    first.trim_end_matches(':').trim().to_string()
}

/// pep508_rs 0.9 panics, instead of returning an error, on a package or extra name that ends in
/// `.`, `-` or `_` and is followed by more text. Such names are invalid, so reject them first.
fn guard_name_ends(text: &str) -> Result<(), String> {
    let identifier = |s: &str| -> usize {
        s.find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))).unwrap_or(s.len())
    };
    let check = |what: &str, name: &str| match name.ends_with(['.', '-', '_']) {
        true => Err(format!("{what} `{name}` must end with a letter or digit")),
        false => Ok(()),
    };
    let rest = text.trim_start();
    let name_len = identifier(rest);
    check("package name", &rest[..name_len])?;
    if let Some(extras) = rest[name_len..].trim_start().strip_prefix('[') {
        for extra in extras.split(']').next().unwrap_or_default().split(',') {
            let extra = extra.trim_start();
            check("extra name", &extra[..identifier(extra)])?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn names_pep508_rs_would_panic_on_are_errors() {
        for text in ["foo_ >=1", "foo-[x]", "foo.[a]>=1", "requests[socks-]", "dep_ ; extra == \"x\""] {
            let message = parse(text).unwrap_err();
            assert!(message.contains("must end with a letter or digit"), "{text}: {message}");
        }
        assert_eq!(parse("requests[socks]>=2.31 ; python_version >= '3.8'").unwrap().name.as_ref(), "requests");
    }

    proptest! {
        #[test]
        fn never_panics(text in "[a-zA-Z0-9._\\- \\[\\],;<>=!~@'\"()]{0,40}") {
            let _ = parse(&text);
        }

        #[test]
        fn never_panics_on_any_text(text in "\\PC{0,40}") {
            let _ = parse(&text);
        }
    }
}
