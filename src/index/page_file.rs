//! The on-disk form of a cached project page: a few header lines, then one tab-separated line
//! per file. A warm run reads tens of thousands of files from these; a line format parses
//! several times faster than JSON with field names, and needs no URL parsing at all.
//!
//! ```text
//! hashlock page 4
//! fetched_at 1795597826
//! max_age -                   (or seconds)
//! name six
//! url https://index.example/simple/six/
//! format json                 (or html)
//! files_base https://files.example/packages/
//! files 2
//! versions 1
//! 2 1.16.0                    (COUNT VERSION: the next COUNT file lines are of VERSION)
//! FILENAME \t URL \t HASHES \t SOURCE \t REQUIRES-PYTHON \t YANKED \t CORE-METADATA \t UPLOAD-TIME \t PROVENANCE \t SIZE
//! …
//! end
//! ```
//!
//! The file lines come grouped by the version their filenames name (in the order the page first
//! names each, in page order within one), so that a warm run learns a project's versions from
//! the few version lines instead of parsing every filename; the files whose names give no
//! version (not a wheel or sdist of the project) come last, in a group with an empty VERSION.
//!
//! URL is the file's URL after FILES_BASE (the start all the page's file URLs share): `~` and
//! the rest up to the filename, which ends the URL (as it does on most indexes), or `=` and all
//! the rest. Stored whole, the URLs would be half of every page, and the pages of a large
//! tree are most of a run's memory.
//!
//! HASHES and CORE-METADATA's hashes are `alg=hex` joined by `,`; SOURCE is `json`, `html` or
//! `none`; REQUIRES-PYTHON, YANKED and PROVENANCE (the PEP 740 URL) are empty for none, else
//! `=` and the value; CORE-METADATA is `-` when absent, else `=` and its hashes; UPLOAD-TIME is
//! empty or a PEP 700 time as [`UploadTime`] keeps it; SIZE is empty or a number. Text is escaped
//! (`\\`, `\t`, `\n`, `\r`, `\c` for `,`, `\e` for `=`). Anything else, a wrong file count or a
//! missing `end` line (a truncated write) makes the whole entry unreadable.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write;
use std::ops::Range;
use std::str::FromStr;

use pep508_rs::PackageName;
use pep508_rs::pep440_rs::Version;
use reqwest::Url;

use crate::dist::{CoreMetadata, DistFile, FilenameParts, HashSource, Hashes, UploadTime};
use crate::index::{PageFormat, ProjectPage};

const MAGIC: &str = "hashlock page 5";

pub fn encode(fetched_at: u64, max_age: Option<u64>, page: &ProjectPage) -> String {
    // Sized up front (over, never under): grown by doubling, the text would take up to twice
    // its size while it grows.
    let hashes = |hashes: &Hashes| hashes.iter().map(|(alg, hex)| alg.len() + hex.len() + 2).sum::<usize>();
    let optional = |value: &Option<String>| value.as_ref().map_or(0, |v| v.len() + 1);
    let estimate: usize = page
        .files
        .iter()
        .map(|file| {
            let core_metadata = match &file.core_metadata {
                CoreMetadata::Absent => 1,
                CoreMetadata::Present(found) => hashes(found) + 1,
            };
            file.filename.len()
                + file.url.len()
                + hashes(&file.hashes)
                + core_metadata
                + 64
                + optional(&file.requires_python)
                + optional(&file.yanked)
                + optional(&file.provenance)
        })
        .sum();
    let mut out = String::with_capacity(256 + page.url.as_str().len() + estimate);
    let format = match page.format {
        PageFormat::Json => "json",
        PageFormat::Html => "html",
    };
    let max_age = max_age.map_or("-".to_string(), |secs| secs.to_string());
    let _ = writeln!(out, "{MAGIC}\nfetched_at {fetched_at}\nmax_age {max_age}");
    let files_base = common_prefix(page.files.iter().map(|file| file.url.as_str()));
    let groups = version_groups(page);
    let _ = writeln!(
        out,
        "name {}\nurl {}\nformat {format}\nfiles_base {}\nfiles {}\nversions {}",
        page.name,
        escape(page.url.as_str()),
        escape(files_base),
        page.files.len(),
        groups.len()
    );
    for (version, files) in &groups {
        let _ = writeln!(out, "{} {}", files.len(), escape(version));
    }
    for file in groups.iter().flat_map(|(_, files)| files) {
        let source = match file.hash_source {
            HashSource::JsonPage => "json",
            HashSource::HtmlFragment => "html",
            HashSource::None => "none",
            HashSource::Computed => "computed",
        };
        let optional = |value: &Option<String>| value.as_deref().map_or(String::new(), |v| format!("={}", escape(v)));
        let core_metadata = match &file.core_metadata {
            CoreMetadata::Absent => "-".to_string(),
            CoreMetadata::Present(hashes) => format!("={}", encode_hashes(hashes)),
        };
        let rest = &file.url[files_base.len()..];
        let url = match rest.strip_suffix(file.filename.as_str()) {
            Some(before) if !file.filename.is_empty() => format!("~{}", escape(before)),
            _ => format!("={}", escape(rest)),
        };
        let _ = writeln!(
            out,
            "{}\t{url}\t{}\t{source}\t{}\t{}\t{core_metadata}\t{}\t{}\t{}",
            escape(&file.filename),
            encode_hashes(&file.hashes),
            optional(&file.requires_python),
            optional(&file.yanked),
            file.upload_time.as_ref().map_or("", UploadTime::as_str),
            optional(&file.provenance),
            file.size.map_or(String::new(), |size| size.to_string()),
        );
    }
    out.push_str("end\n");
    // The estimate counts whole URLs: give back what the shortened ones left unused.
    out.shrink_to_fit();
    out
}

/// The page's files grouped by the version text of their filenames, in the order the page
/// first names each version; the files that name none last, under `""`.
fn version_groups(page: &ProjectPage) -> Vec<(&str, Vec<&DistFile>)> {
    let mut groups: Vec<(&str, Vec<&DistFile>)> = Vec::new();
    let mut position: HashMap<&str, usize> = HashMap::new();
    let mut unversioned = Vec::new();
    for file in &page.files {
        let Some(parts) = FilenameParts::split(&file.filename, &page.name) else {
            unversioned.push(file);
            continue;
        };
        let version = parts.version();
        let at = *position.entry(version).or_insert_with(|| {
            groups.push((version, Vec::new()));
            groups.len() - 1
        });
        groups[at].1.push(file);
    }
    if !unversioned.is_empty() {
        groups.push(("", unversioned));
    }
    groups
}

/// A cached page whose file lines have been checked but not decoded: the few versions a run
/// looks at are decoded when asked for ([`CachedPage::file`]); the others stay text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CachedPage {
    pub name: PackageName,
    pub url: Url,
    pub format: PageFormat,
    /// What every file URL of the page starts with.
    files_base: String,
    text: String,
    lines: Vec<Line>,
    /// The version groups of `lines`, in order: each version (`None` where the filenames name
    /// none, or none PEP 440 reads) with where its group ends.
    versions: Vec<(Option<Version>, usize)>,
}

/// Where one file line's fields lie in [`CachedPage::text`], and the small ones already read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Line {
    /// Where the line starts and ends.
    start: u32,
    end: u32,
    /// Where each field starts, from the line's start: choosing versions reads three fields
    /// of every file of every page, and finding them by their tabs each time cost a third of
    /// a warm run. [`FAR`] past 64 KiB (a line that long is found by its tabs).
    fields: [u16; FIELDS],
    hash_source: HashSource,
    size: Option<u64>,
}

/// The fields of a file line, in order.
#[derive(Clone, Copy)]
enum Field {
    Filename,
    Url,
    Hashes,
    RequiresPython = 4,
    Yanked,
    CoreMetadata,
    UploadTime,
    Provenance,
}

/// Fields on a file line: the [`Field`]s, then the size.
const FIELDS: usize = 10;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CachedEntry {
    pub fetched_at: u64,
    pub max_age: Option<u64>,
    pub page: CachedPage,
}

/// `None` for anything but a complete, well-formed entry. Every line is checked here, so
/// decoding a file later cannot fail.
pub fn decode(text: String) -> Option<CachedEntry> {
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
    let files_base = unescape(header("files_base")?).into_owned();
    let count: usize = header("files")?.parse().ok()?;
    let groups: usize = header("versions")?.parse().ok()?;
    let mut versions = Vec::with_capacity(groups.min(count));
    let mut end = 0;
    for _ in 0..groups {
        let (files, version) = lines.next()?.split_once(' ')?;
        end = files.parse::<usize>().ok().and_then(|files| files.checked_add(end))?;
        versions.push((Version::from_str(&unescape(version)).ok(), end));
    }
    if end != count {
        return None;
    }
    // Offsets are u32: a page beyond 4 GiB is not a page.
    u32::try_from(text.len()).ok()?;
    let mut checked = Vec::with_capacity(count.min(1 << 20));
    for _ in 0..count {
        let line = lines.next()?;
        let start = line.as_ptr() as usize - text.as_ptr() as usize;
        checked.push(check_line(line, start)?);
    }
    if lines.next()? != "end" || lines.next().is_some() {
        return None;
    }
    Some(CachedEntry {
        fetched_at,
        max_age,
        page: CachedPage { name, url, format, files_base, text, lines: checked, versions },
    })
}

/// A field start past what a `u16` holds.
const FAR: u16 = u16::MAX;

fn check_line(line: &str, start: usize) -> Option<Line> {
    let mut fields = [""; FIELDS];
    let mut starts = [FAR; FIELDS];
    let mut parts = line.split('\t');
    let mut offset = 0;
    for (field, field_start) in fields.iter_mut().zip(&mut starts) {
        *field = parts.next()?;
        *field_start = u16::try_from(offset).unwrap_or(FAR);
        offset += field.len() + 1;
    }
    if parts.next().is_some() {
        return None;
    }
    let end = u32::try_from(start + line.len()).ok()?;
    let start = u32::try_from(start).ok()?;
    let [_, url, hashes, source, requires_python, yanked, core_metadata, upload_time, provenance, size] = fields;
    if !url.starts_with(['~', '=']) {
        return None;
    }
    let hash_source = match source {
        "json" => HashSource::JsonPage,
        "html" => HashSource::HtmlFragment,
        "none" => HashSource::None,
        "computed" => HashSource::Computed,
        _ => return None,
    };
    let optional_ok = |field: &str| field.is_empty() || field.starts_with('=');
    let hashes_ok = |field: &str| field.is_empty() || field.split(',').all(|pair| pair.contains('='));
    let core_metadata_ok = core_metadata == "-" || core_metadata.strip_prefix('=').is_some_and(hashes_ok);
    let upload_time_ok = upload_time.is_empty() || UploadTime::is_valid(upload_time);
    let optionals_ok = [requires_python, yanked, provenance].into_iter().all(optional_ok);
    if !(hashes_ok(hashes) && optionals_ok && core_metadata_ok && upload_time_ok) {
        return None;
    }
    let size = match size {
        "" => None,
        size => Some(size.parse().ok()?),
    };
    Some(Line { start, end, fields: starts, hash_source, size })
}

impl CachedPage {
    /// A parsed page in the same form as a cached one; `None` only for a page over 4 GiB.
    pub fn from_page(page: &ProjectPage) -> Option<Self> {
        decode(encode(0, None, page)).map(|entry| entry.page)
    }

    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// Each version the page has files of, with where they are (several entries for one
    /// version where the filenames spell it apart, `1.0` and `1.0.0`).
    pub fn versions(&self) -> impl Iterator<Item = (&Version, Range<usize>)> {
        let starts = std::iter::once(0).chain(self.versions.iter().map(|(_, end)| *end));
        self.versions.iter().zip(starts).filter_map(|((version, end), start)| Some((version.as_ref()?, start..*end)))
    }

    fn field(&self, index: usize, field: Field) -> &str {
        let line = &self.lines[index];
        let text = &self.text[line.start as usize..line.end as usize];
        let (from, to) = (line.fields[field as usize], line.fields.get(field as usize + 1).copied());
        match (from, to) {
            // Checked at load: the line has all its fields, each but the last followed by a tab.
            (FAR, _) | (_, Some(FAR)) => text.split('\t').nth(field as usize).unwrap_or_default(),
            (from, Some(to)) => &text[from as usize..to as usize - 1],
            (from, None) => &text[from as usize..],
        }
    }

    pub fn filename(&self, index: usize) -> Cow<'_, str> {
        unescape(self.field(index, Field::Filename))
    }

    pub fn requires_python(&self, index: usize) -> Option<Cow<'_, str>> {
        self.field(index, Field::RequiresPython).strip_prefix('=').map(unescape)
    }

    pub fn is_yanked(&self, index: usize) -> bool {
        !self.field(index, Field::Yanked).is_empty()
    }

    /// The file at `index`, decoded.
    pub fn file(&self, index: usize) -> DistFile {
        let line = &self.lines[index];
        let optional = |field| self.field(index, field).strip_prefix('=').map(|v: &str| unescape(v).into_owned());
        let core_metadata = match self.field(index, Field::CoreMetadata).strip_prefix('=') {
            None => CoreMetadata::Absent,
            Some(hashes) => CoreMetadata::Present(decode_hashes(hashes)),
        };
        DistFile {
            filename: self.filename(index).into_owned(),
            url: self.url(index),
            hashes: decode_hashes(self.field(index, Field::Hashes)),
            hash_source: line.hash_source,
            requires_python: optional(Field::RequiresPython),
            yanked: optional(Field::Yanked),
            core_metadata,
            size: line.size,
            upload_time: UploadTime::parse(self.field(index, Field::UploadTime)),
            provenance: optional(Field::Provenance),
        }
    }

    fn url(&self, index: usize) -> String {
        let field = self.field(index, Field::Url);
        let (rest, with_filename) = match field.strip_prefix('~') {
            Some(rest) => (rest, true),
            None => (&field[1..], false),
        };
        let mut url = format!("{}{}", self.files_base, unescape(rest));
        if with_filename {
            url.push_str(&self.filename(index));
        }
        url
    }

    /// Every file decoded, as the page listed them (grouped by version).
    #[cfg(test)]
    pub(crate) fn into_page(self) -> ProjectPage {
        let files = (0..self.len()).map(|i| self.file(i)).collect();
        ProjectPage { name: self.name, url: self.url, format: self.format, files }
    }
}

/// The longest start all `urls` share, cut after a `/` (so a file's own name is never split).
fn common_prefix<'a>(mut urls: impl Iterator<Item = &'a str>) -> &'a str {
    let Some(first) = urls.next() else { return "" };
    let mut shared = first.len();
    for url in urls {
        shared = first.bytes().zip(url.bytes()).take(shared).take_while(|(a, b)| a == b).count();
    }
    first.as_bytes()[..shared].iter().rposition(|&b| b == b'/').map_or("", |slash| &first[..=slash])
}

fn encode_hashes(hashes: &Hashes) -> String {
    let pairs: Vec<String> = hashes.iter().map(|(alg, hex)| format!("{}={}", escape(alg), escape(hex))).collect();
    pairs.join(",")
}

/// `alg=hex` pairs joined by `,`, already checked by [`check_line`].
fn decode_hashes(field: &str) -> Hashes {
    field
        .split(',')
        .filter_map(|pair| pair.split_once('='))
        .map(|(alg, hex)| (unescape(alg).into_owned(), unescape(hex).into_owned()))
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
            upload_time: UploadTime::parse("2024-01-02T03:04:05.678901Z"),
            provenance: Some(format!("https://files.example/{filename}.provenance?a=1&b=2")),
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
            upload_time: None,
            provenance: None,
            ..file("demo_pkg-1.0.tar.gz")
        };
        let page = page(vec![file("demo_pkg-1.0-py3-none-any.whl"), bare]);
        let entry = decode(encode(1_700_000_000, Some(600), &page)).unwrap();
        assert_eq!((entry.fetched_at, entry.max_age), (1_700_000_000, Some(600)));
        assert_eq!(entry.page.filename(1), "demo_pkg-1.0.tar.gz");
        assert_eq!(entry.page.requires_python(0).as_deref(), Some(">=3.8, !=3.9.*"));
        assert!(entry.page.is_yanked(0) && entry.page.is_yanked(1));
        assert_eq!(entry.page.into_page(), page);
        assert_eq!(decode(encode(5, None, &self::page(Vec::new()))).map(|e| e.max_age), Some(None));
    }

    #[test]
    fn urls_keep_only_what_the_page_does_not_share() {
        let at = |url: &str, filename: &str| DistFile { url: url.into(), ..file(filename) };
        let files = vec![
            at("https://files.example/packages/ab/cd/demo_pkg-1.0.tar.gz", "demo_pkg-1.0.tar.gz"),
            at("https://files.example/packages/ef/demo_pkg-1.0-py3-none-any.whl", "demo_pkg-1.0-py3-none-any.whl"),
            at("https://files.example/packages/12/demo_pkg-2.0%2Blocal.tar.gz", "demo_pkg-2.0+local.tar.gz"),
            at("https://files.example/packages/34/download?id=7", "demo_pkg-3.0.tar.gz"),
        ];
        let text = encode(0, None, &page(files.clone()));
        assert!(text.contains("\nfiles_base https://files.example/packages/\n"), "{text}");
        assert!(text.contains("\t~ab/cd/\t"), "the filename that ends a URL is not stored twice: {text}");
        assert!(text.contains("\t=12/demo_pkg-2.0%2Blocal.tar.gz\t"), "{text}");
        assert_eq!(decode(text).unwrap().page.into_page(), page(files.clone()));
        let elsewhere = at("http://mirror.example/demo_pkg-1.0.tar.gz", "demo_pkg-1.0.tar.gz");
        let mixed = page(vec![files[0].clone(), elsewhere]);
        let text = encode(0, None, &mixed);
        assert!(text.contains("\nfiles_base \n"), "no start is shared: {text}");
        assert_eq!(decode(text).unwrap().page.into_page(), mixed);
    }

    #[test]
    fn files_are_kept_grouped_by_the_version_their_names_give() {
        let names = ["demo_pkg-1.0.tar.gz", "demo_pkg-2.0.tar.gz", "README.txt", "demo_pkg-1.0-py3-none-any.whl"];
        let page = decode(encode(0, None, &page(names.map(file).to_vec()))).unwrap().page;
        let versions: Vec<(String, Range<usize>)> = page.versions().map(|(v, files)| (v.to_string(), files)).collect();
        assert_eq!(versions, [("1.0".to_string(), 0..2), ("2.0".to_string(), 2..3)], "README.txt names no version");
        let kept: Vec<String> = (0..page.len()).map(|i| page.filename(i).into_owned()).collect();
        assert_eq!(kept, ["demo_pkg-1.0.tar.gz", "demo_pkg-1.0-py3-none-any.whl", "demo_pkg-2.0.tar.gz", "README.txt"]);
    }

    #[test]
    fn fields_past_64_kib_into_a_line_are_read_too() {
        let long = DistFile {
            url: format!("https://files.example/{}/demo_pkg-1.0.tar.gz", "a".repeat(70_000)),
            ..file("demo_pkg-1.0.tar.gz")
        };
        let page = page(vec![long, file("demo_pkg-1.0-py3-none-any.whl")]);
        let entry = decode(encode(0, None, &page)).unwrap();
        assert_eq!(entry.page.requires_python(0).as_deref(), Some(">=3.8, !=3.9.*"));
        assert!(entry.page.is_yanked(0));
        assert_eq!(entry.page.into_page(), page);
    }

    #[test]
    fn truncated_or_altered_entries_are_unreadable() {
        let text = encode(1, None, &page(vec![file("demo_pkg-1.0-py3-none-any.whl"); 3]));
        for cut in [text.len() - 4, text.len() / 2, 20] {
            assert_eq!(decode(text[..cut].to_string()), None, "cut at {cut}");
        }
        assert_eq!(decode(text.replace("files 3", "files 2")), None);
        assert_eq!(decode(text.replace("\thtml\t", "\tweird\t")), None);
        assert_eq!(decode(text.replace("\t=broken", "\tbroken")), None, "an optional field without its `=`");
        assert_eq!(decode(text.replace("sha256=", "sha256:")), None, "a hash without `=`");
        assert_eq!(decode(text.replace("hashlock page 5", "hashlock page 9")), None);
        assert_eq!(decode(text.replace("hashlock page 5", "hashlock page 4")), None, "an entry without version groups");
        assert_eq!(decode(text.replace("\n3 1.0\n", "\n2 1.0\n")), None, "groups that miss a file");
        assert_eq!(decode(text.replace("\t=https", "\thttps")), None, "a provenance URL without its `=`");
        assert_eq!(decode(text.replace("2024-01-02T", "2024-02-30T")), None, "an upload time that is none");
        assert_eq!(decode(format!("{text}trailing\n")), None);
    }

    proptest! {
        #[test]
        fn text_fields_survive_any_characters(text in "\\PC*", reason in proptest::option::of(".*")) {
            let mut odd = file("demo_pkg-1.0-py3-none-any.whl");
            odd.filename = text.clone();
            odd.requires_python = Some(text.clone());
            odd.provenance = Some(text);
            odd.yanked = reason;
            let page = page(vec![odd]);
            prop_assert_eq!(decode(encode(0, None, &page)).map(|e| e.page.into_page()), Some(page));
        }

        #[test]
        fn decode_never_panics(text in ".*") {
            let _ = decode(text);
        }
    }
}
