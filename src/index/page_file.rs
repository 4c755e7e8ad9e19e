//! The on-disk form of a cached project page: a few header lines, then one tab-separated line
//! per file. A warm run reads tens of thousands of files from these; a line format parses
//! several times faster than JSON with field names, and needs no URL parsing at all.
//!
//! ```text
//! hashlock page 1
//! fetched_at 1795597826
//! max_age -                   (or seconds)
//! name six
//! url https://index.example/simple/six/
//! format json                 (or html)
//! files 2
//! FILENAME \t URL \t HASHES \t SOURCE \t REQUIRES-PYTHON \t YANKED \t CORE-METADATA \t SIZE
//! …
//! end
//! ```
//!
//! HASHES and CORE-METADATA's hashes are `alg=hex` joined by `,`; SOURCE is `json`, `html` or
//! `none`; REQUIRES-PYTHON and YANKED are empty for none, else `=` and the value; CORE-METADATA
//! is `-` when absent, else `=` and its hashes; SIZE is empty or a number. Text is escaped
//! (`\\`, `\t`, `\n`, `\r`, `\c` for `,`, `\e` for `=`). Anything else, a wrong file count or a
//! missing `end` line (a truncated write) makes the whole entry unreadable.

use std::borrow::Cow;
use std::fmt::Write;
use std::str::FromStr;

use pep508_rs::PackageName;
use reqwest::Url;

use crate::dist::{CoreMetadata, DistFile, HashSource, Hashes};
use crate::index::{PageFormat, ProjectPage};

const MAGIC: &str = "hashlock page 1";

/// A cached page with when it was fetched and for how long the index said it stays fresh.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageEntry {
    pub fetched_at: u64,
    pub max_age: Option<u64>,
    pub page: ProjectPage,
}

pub fn encode(fetched_at: u64, max_age: Option<u64>, page: &ProjectPage) -> String {
    let mut out = String::with_capacity(64 + page.files.len() * 160);
    let format = match page.format {
        PageFormat::Json => "json",
        PageFormat::Html => "html",
    };
    let max_age = max_age.map_or("-".to_string(), |secs| secs.to_string());
    let _ = writeln!(out, "{MAGIC}\nfetched_at {fetched_at}\nmax_age {max_age}");
    let _ = writeln!(
        out,
        "name {}\nurl {}\nformat {format}\nfiles {}",
        page.name,
        escape(page.url.as_str()),
        page.files.len()
    );
    for file in &page.files {
        let source = match file.hash_source {
            HashSource::JsonPage => "json",
            HashSource::HtmlFragment => "html",
            HashSource::None => "none",
        };
        let optional = |value: &Option<String>| value.as_deref().map_or(String::new(), |v| format!("={}", escape(v)));
        let core_metadata = match &file.core_metadata {
            CoreMetadata::Absent => "-".to_string(),
            CoreMetadata::Present(hashes) => format!("={}", encode_hashes(hashes)),
        };
        let _ = writeln!(
            out,
            "{}\t{}\t{}\t{source}\t{}\t{}\t{core_metadata}\t{}",
            escape(&file.filename),
            escape(&file.url),
            encode_hashes(&file.hashes),
            optional(&file.requires_python),
            optional(&file.yanked),
            file.size.map_or(String::new(), |size| size.to_string()),
        );
    }
    out.push_str("end\n");
    out
}

/// `None` for anything but a complete, well-formed entry.
pub fn decode(text: &str) -> Option<PageEntry> {
    let mut lines = text.lines();
    if lines.next()? != MAGIC {
        return None;
    }
    let mut header = |key: &str| -> Option<&str> { lines.next()?.strip_prefix(key)?.strip_prefix(' ') };
    let fetched_at = header("fetched_at")?.parse().ok()?;
    let max_age = match header("max_age")? {
        "-" => None,
        secs => Some(secs.parse().ok()?),
    };
    let name = PackageName::from_str(header("name")?).ok()?;
    let url = Url::parse(&unescape(header("url")?)).ok()?;
    let format = match header("format")? {
        "json" => PageFormat::Json,
        "html" => PageFormat::Html,
        _ => return None,
    };
    let count: usize = header("files")?.parse().ok()?;
    let mut files = Vec::with_capacity(count.min(1 << 20));
    for _ in 0..count {
        files.push(decode_file(lines.next()?)?);
    }
    if lines.next()? != "end" || lines.next().is_some() {
        return None;
    }
    Some(PageEntry { fetched_at, max_age, page: ProjectPage { name, url, format, files } })
}

fn decode_file(line: &str) -> Option<DistFile> {
    let mut fields = line.split('\t');
    let mut next = || fields.next();
    let filename = unescape(next()?).into_owned();
    let url = unescape(next()?).into_owned();
    let hashes = decode_hashes(next()?)?;
    let hash_source = match next()? {
        "json" => HashSource::JsonPage,
        "html" => HashSource::HtmlFragment,
        "none" => HashSource::None,
        _ => return None,
    };
    let optional = |field: &str| -> Option<Option<String>> {
        match field {
            "" => Some(None),
            value => Some(Some(unescape(value.strip_prefix('=')?).into_owned())),
        }
    };
    let requires_python = optional(next()?)?;
    let yanked = optional(next()?)?;
    let core_metadata = match next()? {
        "-" => CoreMetadata::Absent,
        value => CoreMetadata::Present(decode_hashes(value.strip_prefix('=')?)?),
    };
    let size = match next()? {
        "" => None,
        size => Some(size.parse().ok()?),
    };
    if next().is_some() {
        return None;
    }
    Some(DistFile { filename, url, hashes, hash_source, requires_python, yanked, core_metadata, size })
}

fn encode_hashes(hashes: &Hashes) -> String {
    let pairs: Vec<String> = hashes.iter().map(|(alg, hex)| format!("{}={}", escape(alg), escape(hex))).collect();
    pairs.join(",")
}

fn decode_hashes(field: &str) -> Option<Hashes> {
    if field.is_empty() {
        return Some(Hashes::new());
    }
    field
        .split(',')
        .map(|pair| {
            let (alg, hex) = pair.split_once('=')?;
            Some((unescape(alg).into_owned(), unescape(hex).into_owned()))
        })
        .collect()
}

fn escape(text: &str) -> Cow<'_, str> {
    if !text.contains(['\\', '\t', '\n', '\r', ',', '=']) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            ',' => out.push_str("\\c"),
            '=' => out.push_str("\\e"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// The inverse of [`escape`]; an unknown escape keeps its character (the entry is only ever
/// written by [`encode`], and a damaged one fails elsewhere).
fn unescape(text: &str) -> Cow<'_, str> {
    if !text.contains('\\') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('c') => out.push(','),
            Some('e') => out.push('='),
            Some(other) => out.push(other),
            None => {}
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn page(files: Vec<DistFile>) -> ProjectPage {
        ProjectPage {
            name: PackageName::from_str("demo-pkg").unwrap(),
            url: Url::parse("https://index.example/simple/demo-pkg/").unwrap(),
            format: PageFormat::Html,
            files,
        }
    }

    fn file(filename: &str) -> DistFile {
        DistFile {
            filename: filename.into(),
            url: format!("https://files.example/{filename}?a=1&b=2"),
            hashes: [("sha256".to_string(), "ab".repeat(32)), ("md5".to_string(), "cd".repeat(16))]
                .into_iter()
                .collect(),
            hash_source: HashSource::HtmlFragment,
            requires_python: Some(">=3.8, !=3.9.*".into()),
            yanked: Some("broken\tbuild, see\nissue = 12 \\o/".into()),
            core_metadata: CoreMetadata::Present([("sha256".to_string(), "ef".repeat(32))].into_iter().collect()),
            size: Some(1234),
        }
    }

    #[test]
    fn round_trips_every_field() {
        let bare = DistFile {
            hashes: Hashes::new(),
            hash_source: HashSource::None,
            requires_python: None,
            yanked: Some(String::new()),
            core_metadata: CoreMetadata::Present(Hashes::new()),
            size: None,
            ..file("demo_pkg-1.0.tar.gz")
        };
        let page = page(vec![file("demo_pkg-1.0-py3-none-any.whl"), bare]);
        let text = encode(1_700_000_000, Some(600), &page);
        assert_eq!(decode(&text), Some(PageEntry { fetched_at: 1_700_000_000, max_age: Some(600), page }));
        assert_eq!(decode(&encode(5, None, &self::page(Vec::new()))).map(|e| e.max_age), Some(None));
    }

    #[test]
    fn truncated_or_altered_entries_are_unreadable() {
        let text = encode(1, None, &page(vec![file("demo_pkg-1.0-py3-none-any.whl"); 3]));
        for cut in [text.len() - 4, text.len() / 2, 20] {
            assert_eq!(decode(&text[..cut]), None, "cut at {cut}");
        }
        assert_eq!(decode(&text.replace("files 3", "files 2")), None);
        assert_eq!(decode(&text.replace("\tjson\t", "\tJSON\t").replace("\thtml\t", "\tweird\t")), None);
        assert_eq!(decode(&text.replace("hashlock page 1", "hashlock page 9")), None);
        assert_eq!(decode(&format!("{text}trailing\n")), None);
    }

    proptest! {
        #[test]
        fn text_fields_survive_any_characters(text in "\\PC*", reason in proptest::option::of(".*")) {
            let mut odd = file("demo_pkg-1.0-py3-none-any.whl");
            odd.filename = text.clone();
            odd.requires_python = Some(text);
            odd.yanked = reason;
            let page = page(vec![odd]);
            prop_assert_eq!(decode(&encode(0, None, &page)).map(|e| e.page), Some(page));
        }

        #[test]
        fn decode_never_panics(text in ".*") {
            let _ = decode(&text);
        }
    }
}
