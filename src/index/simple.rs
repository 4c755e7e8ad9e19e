//! Project pages of the simple repository API: PEP 691 JSON and PEP 503 HTML.

use pep508_rs::PackageName;
use reqwest::Url;
use serde::Deserialize;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, Read};

use crate::dist::{CoreMetadata, DistFile, HashSource, Hashes, UploadTime};

/// The `Accept` header hashlock sends for project pages (JSON preferred, HTML accepted).
pub const ACCEPT: &str =
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageFormat {
    Json,
    Html,
}

/// One index's page for one project.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProjectPage {
    pub name: PackageName,
    /// The page's own URL (after redirects): relative file links resolve against it.
    pub url: Url,
    pub format: PageFormat,
    pub files: Vec<DistFile>,
}

#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct PageError {
    pub message: String,
}

/// Parses a page by its Content-Type: PEP 691 JSON (`application/vnd.pypi.simple.v1+json`)
/// or HTML (`application/vnd.pypi.simple.v1+html`, `text/html`, or no type at all).
pub fn parse_page(
    name: &PackageName,
    url: &Url,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<ProjectPage, PageError> {
    read_page(name, url, content_type, &mut &body[..]).unwrap_or_else(|e| Err(PageError::new(e.to_string())))
}

/// [`parse_page`] reading the body as it arrives: a JSON page is parsed file by file, so
/// neither its bytes nor its parsed JSON are ever held whole (a large project's page is
/// megabytes, and many arrive at once). The outer `Err` is the body's I/O failing, worth
/// another attempt; the inner one is a page that is wrong.
pub fn read_page(
    name: &PackageName,
    url: &Url,
    content_type: Option<&str>,
    body: &mut dyn Read,
) -> io::Result<Result<ProjectPage, PageError>> {
    let media_type = content_type.map(|t| t.split(';').next().unwrap_or_default().trim().to_ascii_lowercase());
    let parsed = match media_type.as_deref() {
        Some(
            "application/vnd.pypi.simple.v1+json" | "application/vnd.pypi.simple.latest+json" | "application/json",
        ) => read_json(url, body)?.map(|files| (PageFormat::Json, files)),
        None
        | Some(
            ""
            | "application/vnd.pypi.simple.v1+html"
            | "application/vnd.pypi.simple.latest+html"
            | "text/html"
            | "application/xhtml+xml",
        ) => {
            let mut bytes = Vec::new();
            body.read_to_end(&mut bytes)?;
            parse_html(url, &bytes).map(|files| (PageFormat::Html, files))
        }
        Some(other) => Err(PageError::new(format!("unexpected Content-Type `{other}`"))),
    };
    Ok(parsed.map(|(format, files)| ProjectPage { name: name.clone(), url: url.clone(), format, files }))
}

/// PEP 503 normalised name as used in URLs: lowercase, runs of `-_.` become `-`.
pub fn normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_separator_run = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_separator_run {
                out.push('-');
            }
            in_separator_run = true;
        } else {
            out.extend(c.to_lowercase());
            in_separator_run = false;
        }
    }
    out
}

impl PageError {
    fn new(message: impl Into<String>) -> Self {
        Self { message: message.into() }
    }
}

#[derive(Default, Deserialize)]
struct JsonMeta {
    /// A string by the PEP; a number is read as written.
    #[serde(default, rename = "api-version")]
    api_version: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct JsonFile {
    filename: String,
    url: String,
    #[serde(default)]
    hashes: BTreeMap<String, String>,
    #[serde(default, rename = "requires-python")]
    requires_python: Option<String>,
    #[serde(default)]
    yanked: Option<JsonYanked>,
    #[serde(default, rename = "core-metadata")]
    core_metadata: Option<JsonMetadata>,
    #[serde(default, rename = "dist-info-metadata")]
    dist_info_metadata: Option<JsonMetadata>,
    #[serde(default)]
    size: Option<u64>,
    /// PEP 700; any value, since one that is not a time is dropped rather than failing the page.
    #[serde(default, rename = "upload-time")]
    upload_time: Option<serde_json::Value>,
    /// PEP 740 (API version 1.3): the provenance object's URL, or null. Any value, since drafts
    /// of the PEP put a digest or the object itself here, which is no URL and not read.
    #[serde(default)]
    provenance: Option<serde_json::Value>,
}

/// `yanked`: `true`/`false` or the reason (which means yanked).
#[derive(Deserialize)]
#[serde(untagged)]
enum JsonYanked {
    Flag(bool),
    Reason(String),
}

/// `core-metadata`: `true`/`false` or the metadata file's hashes.
#[derive(Deserialize)]
#[serde(untagged)]
enum JsonMetadata {
    Flag(bool),
    Hashes(BTreeMap<String, String>),
}

/// A PEP 691 page read from `body`, each file converted as soon as it is read. The outer
/// `Err` is an I/O failure of the body; malformed JSON is a [`PageError`].
fn read_json(page_url: &Url, body: &mut dyn Read) -> io::Result<Result<Vec<DistFile>, PageError>> {
    let mut deserializer = serde_json::Deserializer::from_reader(io::BufReader::with_capacity(64 * 1024, body));
    let read = PageSeed { page_url }.deserialize(&mut deserializer).and_then(|page| {
        deserializer.end()?;
        Ok(page)
    });
    let (api_version, mut files) = match read {
        Ok(page) => page,
        Err(e) if e.is_io() => return Err(e.into()),
        Err(e) => return Ok(Err(PageError::new(format!("invalid JSON page: {e}")))),
    };
    let minor = match api_version {
        Some(serde_json::Value::String(version)) => check_api_version(&version),
        Some(other) => check_api_version(&other.to_string()),
        None => Ok(0),
    };
    let minor = match minor {
        Ok(minor) => minor,
        Err(error) => return Ok(Err(error)),
    };
    // `meta` may follow `files`: provenance URLs are read as they come and dropped here.
    if minor < PROVENANCE_MINOR {
        files.iter_mut().for_each(|file| file.provenance = None);
    }
    Ok(Ok(files))
}

/// The page object: `meta`'s API version and the files; unknown keys skipped unread.
struct PageSeed<'a> {
    page_url: &'a Url,
}

impl<'de> DeserializeSeed<'de> for PageSeed<'_> {
    type Value = (Option<serde_json::Value>, Vec<DistFile>);

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for PageSeed<'_> {
    type Value = (Option<serde_json::Value>, Vec<DistFile>);

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a project page object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (mut meta, mut files) = (JsonMeta::default(), None);
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "meta" => meta = map.next_value()?,
                "files" => files = Some(map.next_value_seed(FilesSeed { page_url: self.page_url })?),
                _ => drop(map.next_value::<IgnoredAny>()?),
            }
        }
        let files = files.ok_or_else(|| serde::de::Error::missing_field("files"))?;
        Ok((meta.api_version, files))
    }
}

/// The `files` array, each entry converted before the next is read.
struct FilesSeed<'a> {
    page_url: &'a Url,
}

impl<'de> DeserializeSeed<'de> for FilesSeed<'_> {
    type Value = Vec<DistFile>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for FilesSeed<'_> {
    type Value = Vec<DistFile>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of files")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut files = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 16));
        while let Some(file) = seq.next_element::<JsonFile>()? {
            files.push(dist_file(self.page_url, file).map_err(|e| serde::de::Error::custom(e.message))?);
        }
        Ok(files)
    }
}

fn dist_file(page_url: &Url, file: JsonFile) -> Result<DistFile, PageError> {
    let mut url = resolve(page_url, &file.url)
        .ok_or_else(|| PageError::new(format!("bad URL `{}` for {}", file.url, file.filename)))?;
    url.set_fragment(None);
    let hashes = clean_hashes(file.hashes);
    let provenance = match file.provenance {
        Some(serde_json::Value::String(href)) => provenance_url(page_url, &href),
        _ => None,
    };
    let yanked = match file.yanked {
        None | Some(JsonYanked::Flag(false)) => None,
        Some(JsonYanked::Flag(true)) => Some(String::new()),
        Some(JsonYanked::Reason(reason)) => Some(reason),
    };
    let core_metadata = match file.core_metadata.or(file.dist_info_metadata) {
        None | Some(JsonMetadata::Flag(false)) => CoreMetadata::Absent,
        Some(JsonMetadata::Flag(true)) => CoreMetadata::Present(Hashes::new()),
        Some(JsonMetadata::Hashes(hashes)) => CoreMetadata::Present(clean_hashes(hashes)),
    };
    Ok(DistFile {
        filename: file.filename,
        url: url.into(),
        hash_source: if hashes.is_empty() { HashSource::None } else { HashSource::JsonPage },
        hashes,
        requires_python: file.requires_python.filter(|r| !r.trim().is_empty()),
        yanked,
        core_metadata,
        size: file.size,
        upload_time: file.upload_time.as_ref().and_then(serde_json::Value::as_str).and_then(UploadTime::parse),
        provenance,
    })
}

/// Lowercases algorithm names and digests; drops entries whose digest is not hex.
fn clean_hashes(hashes: BTreeMap<String, String>) -> Hashes {
    hashes
        .into_iter()
        .filter(|(alg, digest)| !alg.is_empty() && is_hex(digest))
        .map(|(alg, digest)| (alg.to_ascii_lowercase(), digest.to_ascii_lowercase()))
        .collect()
}

fn is_hex(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Hash algorithms accepted in `#<alg>=<hex>` fragments and `data-core-metadata` values; a
/// fragment naming anything else (`#egg=...`, `#md5-is-here`) is not a hash.
const FRAGMENT_ALGORITHMS: &[&str] = &[
    "md5", "sha1", "sha224", "sha256", "sha384", "sha512", "sha3_224", "sha3_256", "sha3_384", "sha3_512", "blake2b",
    "blake2s",
];

/// `alg=hex` as used by URL fragments and `data-core-metadata`.
fn parse_alg_hex(value: &str) -> Option<(String, String)> {
    let (alg, digest) = value.split_once('=')?;
    let alg = alg.trim().to_ascii_lowercase();
    let digest = digest.trim();
    (FRAGMENT_ALGORITHMS.contains(&alg.as_str()) && is_hex(digest)).then(|| (alg, digest.to_ascii_lowercase()))
}

/// PEP 629/691: a client refuses a repository API major version it does not know (only 1
/// exists); newer minor versions are compatible. Returns the minor version (0 when it is not
/// a number), which says what the page may carry.
fn check_api_version(version: &str) -> Result<u64, PageError> {
    let mut parts = version.trim().split('.');
    match parts.next().and_then(|major| major.parse::<u64>().ok()) {
        Some(1) => Ok(parts.next().and_then(|minor| minor.parse().ok()).unwrap_or(0)),
        // Escaped: the value comes from the index and the message is one line.
        _ => Err(PageError::new(format!("unsupported repository API version {}", version.escape_debug()))),
    }
}

/// The repository API minor version that defines a file's provenance URL (PEP 740); older
/// pages, and pages that declare no version (1.0), carry none.
const PROVENANCE_MINOR: u64 = 3;

/// Resolves a link against the page (or `<base>`) URL.
fn resolve(base: &Url, href: &str) -> Option<Url> {
    base.join(href.trim()).ok()
}

/// A provenance URL as a page gives it, resolved; one that does not parse is no provenance
/// rather than a broken page, as it only matters to the files that have it.
fn provenance_url(base: &Url, href: &str) -> Option<String> {
    if href.trim().is_empty() {
        return None;
    }
    let mut url = resolve(base, href)?;
    url.set_fragment(None);
    Some(url.into())
}

fn parse_html(page_url: &Url, body: &[u8]) -> Result<Vec<DistFile>, PageError> {
    if body.contains(&0) {
        return Err(PageError::new("binary content, not an HTML page"));
    }
    let text = String::from_utf8_lossy(body);
    if !text.contains('<') {
        return Err(PageError::new("not an HTML page (no markup)"));
    }
    let document = scan_html(&text);
    let minor = document.repository_version.as_deref().map(check_api_version).transpose()?.unwrap_or(0);
    let base = document.base.as_deref().and_then(|href| resolve(page_url, href)).unwrap_or_else(|| page_url.clone());
    let with_provenance = minor >= PROVENANCE_MINOR;
    Ok(document.anchors.into_iter().filter_map(|anchor| anchor_to_file(&base, anchor, with_provenance)).collect())
}

/// `with_provenance`: whether the page's version defines `data-provenance`.
fn anchor_to_file(base: &Url, anchor: Anchor, with_provenance: bool) -> Option<DistFile> {
    let attribute = |name: &str| anchor.attributes.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
    let href = attribute("href").filter(|h| !h.trim().is_empty())?;
    let mut url = resolve(base, &href)?;
    let hashes: Hashes = url.fragment().and_then(parse_alg_hex).into_iter().collect();
    url.set_fragment(None);
    // pip names a link by its URL, and checks the hash of what the URL serves; the anchor text
    // (which PEP 503 says must match) is only a fallback for a URL without a last segment.
    let filename = match last_segment(&url) {
        Some(segment) => segment,
        None => Some(anchor.text.trim()).filter(|text| !text.is_empty())?.to_string(),
    };
    let core_metadata = match attribute("data-core-metadata").or_else(|| attribute("data-dist-info-metadata")) {
        Some(value) if value.trim().eq_ignore_ascii_case("true") => CoreMetadata::Present(Hashes::new()),
        Some(value) => parse_alg_hex(&value).map_or(CoreMetadata::Absent, |hash| CoreMetadata::Present([hash].into())),
        None => CoreMetadata::Absent,
    };
    Some(DistFile {
        filename,
        url: url.into(),
        hash_source: if hashes.is_empty() { HashSource::None } else { HashSource::HtmlFragment },
        hashes,
        requires_python: attribute("data-requires-python").filter(|r| !r.trim().is_empty()),
        yanked: attribute("data-yanked"),
        core_metadata,
        size: None,
        upload_time: None,
        provenance: attribute("data-provenance")
            .filter(|_| with_provenance)
            .and_then(|href| provenance_url(base, &href)),
    })
}

/// The URL's last path segment, percent-decoded: a link's filename.
pub(crate) fn last_segment(url: &Url) -> Option<String> {
    let segment = url.path_segments()?.next_back().filter(|s| !s.is_empty())?;
    Some(percent_decode(segment))
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let decoded = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match decoded {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// One `<a>` element: its attributes (names lowercased, values entity-decoded) and its text.
#[derive(Debug, Default)]
struct Anchor {
    attributes: Vec<(String, String)>,
    text: String,
}

#[derive(Debug, Default)]
struct Document {
    /// `href` of the first `<base>` element.
    base: Option<String>,
    /// `content` of the first `<meta name="pypi:repository-version">` (PEP 629).
    repository_version: Option<String>,
    anchors: Vec<Anchor>,
}

/// A tolerant scanner for the little HTML a simple page uses: it finds `<a>` and `<base>`
/// start tags, reads their attributes (any quoting, any order, any case), skips comments,
/// and takes an anchor's text up to `</a>` with inner tags dropped. Never fails.
fn scan_html(text: &str) -> Document {
    let bytes = text.as_bytes();
    let mut document = Document::default();
    let mut pos = 0;
    while let Some(offset) = text[pos..].find('<') {
        let open = pos + offset;
        if text[open..].starts_with("<!--") {
            pos = text[open + 4..].find("-->").map_or(text.len(), |end| open + 4 + end + 3);
            continue;
        }
        let name_start = open + 1;
        let name_end = name_start + bytes[name_start..].iter().take_while(|b| b.is_ascii_alphanumeric()).count();
        // `<` not followed by a letter (end tags, `<!DOCTYPE>`, a stray `<`) starts no element.
        if name_end == name_start {
            pos = open + 1;
            continue;
        }
        let tag = text[name_start..name_end].to_ascii_lowercase();
        let (attributes, after_tag) = scan_attributes(text, name_end);
        pos = after_tag;
        match tag.as_str() {
            "a" => {
                let end = anchor_text_end(text, pos);
                let anchor_text = decode_entities(&strip_tags(&text[pos..end]));
                pos = end;
                document.anchors.push(Anchor { attributes, text: anchor_text });
            }
            "base" if document.base.is_none() => {
                document.base = attributes.into_iter().find(|(name, _)| name == "href").map(|(_, value)| value);
            }
            "meta" if document.repository_version.is_none() => {
                let value = |wanted: &str| attributes.iter().find(|(name, _)| name == wanted).map(|(_, value)| value);
                if value("name").is_some_and(|name| name.trim().eq_ignore_ascii_case("pypi:repository-version")) {
                    document.repository_version = value("content").cloned();
                }
            }
            _ => {}
        }
    }
    document
}

/// Reads attributes from `start` (just after the tag name) to the closing `>`; returns them
/// and the position after the `>` (or the end of the text).
fn scan_attributes(text: &str, start: usize) -> (Vec<(String, String)>, usize) {
    let bytes = text.as_bytes();
    let mut attributes = Vec::new();
    let mut i = start;
    loop {
        while i < bytes.len() && (bytes[i].is_ascii_whitespace() || bytes[i] == b'/') {
            i += 1;
        }
        if i >= bytes.len() {
            return (attributes, bytes.len());
        }
        if bytes[i] == b'>' {
            return (attributes, i + 1);
        }
        let name_start = i;
        while i < bytes.len() && !bytes[i].is_ascii_whitespace() && !matches!(bytes[i], b'=' | b'>' | b'/') {
            i += 1;
        }
        // A lone `=` or quote where a name should be: skip it so the loop advances.
        if i == name_start {
            i += 1;
            continue;
        }
        let name = text[name_start..i].to_ascii_lowercase();
        let mut j = i;
        while j < bytes.len() && bytes[j].is_ascii_whitespace() {
            j += 1;
        }
        let mut value = String::new();
        if j < bytes.len() && bytes[j] == b'=' {
            j += 1;
            while j < bytes.len() && bytes[j].is_ascii_whitespace() {
                j += 1;
            }
            let (raw, next) = match bytes.get(j) {
                Some(&quote @ (b'"' | b'\'')) => {
                    let end = text[j + 1..].find(quote as char).map_or(text.len(), |e| j + 1 + e);
                    (&text[j + 1..end], (end + 1).min(text.len()))
                }
                _ => {
                    let len = bytes[j..].iter().take_while(|b| !b.is_ascii_whitespace() && **b != b'>').count();
                    (&text[j..j + len], j + len)
                }
            };
            value = decode_entities(raw);
            i = next;
        }
        attributes.push((name, value));
    }
}

/// Where an anchor's text ends: at its `</a>`, or at the next `<a` when the page forgot to
/// close it, or at the end of the text.
fn anchor_text_end(text: &str, from: usize) -> usize {
    let bytes = text.as_bytes();
    (from..bytes.len())
        .find(|&i| {
            let at = |k: usize, expected: u8| bytes.get(i + k).is_some_and(|b| b.eq_ignore_ascii_case(&expected));
            let delimiter = |k: usize| bytes.get(i + k).is_none_or(|b| b.is_ascii_whitespace() || *b == b'>');
            at(0, b'<') && ((at(1, b'/') && at(2, b'a') && delimiter(3)) || (at(1, b'a') && delimiter(2)))
        })
        .unwrap_or(bytes.len())
}

/// Drops `<...>` tags from an anchor's inner HTML.
fn strip_tags(inner: &str) -> String {
    let mut out = String::with_capacity(inner.len());
    let mut in_tag = false;
    for c in inner.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

/// Decodes `&amp; &lt; &gt; &quot; &#39; &apos;` and numeric references; anything else is
/// left as written.
fn decode_entities(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let decoded = rest.find(';').filter(|&semi| semi <= 12).and_then(|semi| {
            let entity = &rest[1..semi];
            let c = match entity {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                _ => {
                    let number = entity.strip_prefix('#')?;
                    let code = match number.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok(),
                        None => number.parse().ok(),
                    };
                    code.and_then(char::from_u32)
                }
            };
            c.map(|c| (c, semi + 1))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use proptest::prelude::*;

    use super::*;

    const JSON: Option<&str> = Some("application/vnd.pypi.simple.v1+json");
    const HTML: Option<&str> = Some("text/html; charset=utf-8");

    fn page_url() -> Url {
        Url::parse("https://index.example/simple/demo/").unwrap()
    }

    fn parse(content_type: Option<&str>, body: &str) -> Result<ProjectPage, PageError> {
        parse_page(&PackageName::from_str("demo").unwrap(), &page_url(), content_type, body.as_bytes())
    }

    #[test]
    fn normalizes_per_pep_503() {
        assert_eq!(normalize("Foo.Bar__baz-_-Qux"), "foo-bar-baz-qux");
        assert_eq!(normalize("typing_extensions"), "typing-extensions");
    }

    #[test]
    fn json_page_with_every_field() {
        let body = r#"{
          "meta": {"api-version": "1.1"},
          "name": "demo",
          "files": [
            {"filename": "demo-1.0-py3-none-any.whl", "url": "../../files/demo-1.0-py3-none-any.whl#sha256=00",
             "hashes": {"SHA256": "ABCDEF01"}, "requires-python": ">=3.8", "yanked": false,
             "core-metadata": {"sha256": "FEED"}, "dist-info-metadata": false, "size": 1234,
             "upload-time": "2024-01-01T00:00:00Z"},
            {"filename": "demo-0.9.tar.gz", "url": "https://files.example/demo-0.9.tar.gz",
             "hashes": {}, "yanked": "broken build", "dist-info-metadata": true,
             "upload-time": "2024-01-01T00:00:00Z\n[[packages]]"},
            {"filename": "demo-0.8.tar.gz", "url": "https://files.example/demo-0.8.tar.gz",
             "hashes": {"md5": "0123"}, "requires-python": null, "yanked": true, "upload-time": 1704067200}
          ],
          "versions": ["0.8", "0.9", "1.0"]
        }"#;
        let page = parse(JSON, body).unwrap();
        assert_eq!(page.format, PageFormat::Json);
        let [wheel, sdist, old] = page.files.as_slice() else { panic!("{:?}", page.files) };

        assert_eq!(wheel.url.as_str(), "https://index.example/files/demo-1.0-py3-none-any.whl");
        assert_eq!(wheel.hashes, Hashes::from([("sha256".into(), "abcdef01".into())]));
        assert_eq!(wheel.hash_source, HashSource::JsonPage);
        assert_eq!(wheel.requires_python.as_deref(), Some(">=3.8"));
        assert_eq!(wheel.yanked, None);
        assert_eq!(wheel.core_metadata, CoreMetadata::Present(Hashes::from([("sha256".into(), "feed".into())])));
        assert_eq!(wheel.size, Some(1234));
        assert_eq!(wheel.upload_time.as_ref().map(UploadTime::as_str), Some("2024-01-01T00:00:00Z"));

        assert_eq!(sdist.hash_source, HashSource::None);
        assert!(sdist.hashes.is_empty());
        assert_eq!(sdist.yanked.as_deref(), Some("broken build"));
        assert_eq!(sdist.core_metadata, CoreMetadata::Present(Hashes::new()));
        assert_eq!(sdist.upload_time, None, "not a time: dropped");

        assert_eq!(old.hashes, Hashes::from([("md5".into(), "0123".into())]));
        assert_eq!(old.yanked.as_deref(), Some(""));
        assert_eq!(old.requires_python, None);
        assert_eq!(old.core_metadata, CoreMetadata::Absent);
        assert_eq!(old.upload_time, None, "not a string: dropped, the page still read");
    }

    /// A digest is written after `--hash=` as the page gave it: anything but hex (a path, a
    /// line break and an option, an empty value) is dropped, leaving the file without that hash.
    #[test]
    fn page_hashes_must_be_hex() {
        let hostile = ["../../etc/x", "ab\n--index-url http://evil.example/", "", "abcdefg", "ab cd"];
        for digest in hostile {
            let json = serde_json::json!({"files": [{
                "filename": "demo-1.0.tar.gz", "url": "demo-1.0.tar.gz",
                "hashes": {"sha256": digest, "md5": "0f0f"}, "core-metadata": {"sha256": digest}
            }]});
            let page = parse(JSON, &json.to_string()).unwrap();
            assert_eq!(page.files[0].hashes, Hashes::from([("md5".into(), "0f0f".into())]), "{digest:?}");
            assert_eq!(page.files[0].core_metadata, CoreMetadata::Present(Hashes::new()), "{digest:?}");

            let href = format!("demo-1.0.tar.gz#sha256={}", digest.replace('\n', "%0A").replace(' ', "%20"));
            let html = format!("<a href=\"{href}\" data-core-metadata=\"sha256={digest}\">demo-1.0.tar.gz</a>");
            let page = parse(HTML, &html).unwrap();
            assert!(page.files[0].hashes.is_empty(), "{digest:?}: {:?}", page.files[0].hashes);
            assert_eq!(page.files[0].hash_source, HashSource::None, "{digest:?}");
            assert_eq!(page.files[0].core_metadata, CoreMetadata::Absent, "{digest:?}");
        }
    }

    #[test]
    fn plain_json_content_type_is_accepted() {
        let page = parse(Some("application/json"), r#"{"files": []}"#).unwrap();
        assert_eq!(page.format, PageFormat::Json);
        assert!(page.files.is_empty());
    }

    #[test]
    fn bad_json_is_an_error() {
        assert!(parse(JSON, "<html></html>").unwrap_err().message.contains("invalid JSON"));
        // Wrong shape: files is not a list, a file lacks its URL, yanked is a number.
        assert!(parse(JSON, r#"{"files": {}}"#).is_err());
        assert!(parse(JSON, r#"{"files": [{"filename": "demo-1.0.tar.gz"}]}"#).is_err());
        assert!(parse(JSON, r#"{"files": [{"filename": "a", "url": "b", "yanked": 3}]}"#).is_err());
    }

    #[test]
    fn html_page_with_relative_links_entities_and_data_attributes() {
        let body = r#"<!DOCTYPE html>
<html><head><title>Links for demo</title></head><body>
<h1>Links for demo</h1>
<!-- <a href="commented-out-1.0.tar.gz">commented-out-1.0.tar.gz</a> -->
<a href="../../files/demo-1.0-py3-none-any.whl#SHA256=ABCDEF" data-requires-python="&gt;=3.8,&lt;4" data-core-metadata="sha256=BEEF">demo-1.0-py3-none-any.whl</a><br/>
<A data-yanked="" HREF='/files/demo-0.9.tar.gz?a=1&amp;b=2#md5=0f0f'>  demo-0.9.tar.gz </A>
<a data-yanked="bad &quot;release&quot; &#39;x&#39; &#x41;&#66;" href=https://files.example/demo-0.8.zip data-dist-info-metadata=true>demo-0.8.zip</a>
<a href="demo-0.7.tar.gz#egg=demo">demo-0.7.tar.gz</a>
</body></html>"#;
        let page = parse(HTML, body).unwrap();
        assert_eq!(page.format, PageFormat::Html);
        let [wheel, sdist, zip, old] = page.files.as_slice() else { panic!("{:?}", page.files) };

        assert_eq!(wheel.filename, "demo-1.0-py3-none-any.whl");
        assert_eq!(wheel.url.as_str(), "https://index.example/files/demo-1.0-py3-none-any.whl");
        assert_eq!(wheel.hashes, Hashes::from([("sha256".into(), "abcdef".into())]));
        assert_eq!(wheel.hash_source, HashSource::HtmlFragment);
        assert_eq!(wheel.requires_python.as_deref(), Some(">=3.8,<4"));
        assert_eq!(wheel.yanked, None);
        assert_eq!(wheel.core_metadata, CoreMetadata::Present(Hashes::from([("sha256".into(), "beef".into())])));

        assert_eq!(sdist.filename, "demo-0.9.tar.gz");
        assert_eq!(sdist.url.as_str(), "https://index.example/files/demo-0.9.tar.gz?a=1&b=2");
        assert_eq!(sdist.hashes, Hashes::from([("md5".into(), "0f0f".into())]));
        assert_eq!(sdist.yanked.as_deref(), Some(""));

        assert_eq!(zip.url.as_str(), "https://files.example/demo-0.8.zip");
        assert_eq!(zip.yanked.as_deref(), Some(r#"bad "release" 'x' AB"#));
        assert_eq!(zip.core_metadata, CoreMetadata::Present(Hashes::new()));
        assert_eq!(zip.hash_source, HashSource::None);

        // `#egg=` is no hash; the fragment is still dropped from the URL.
        assert!(old.hashes.is_empty());
        assert_eq!(old.url.as_str(), "https://index.example/simple/demo/demo-0.7.tar.gz");
    }

    #[test]
    fn html_base_href_and_filename_fallback() {
        let body = r#"<html><head><BASE href="https://mirror.example/pkgs/"></head>
<a href="demo%2B1-1.0.tar.gz"></a>
<a href=demo-2.0.tar.gz><span>demo-2.0.tar.gz</span></a>
<a name="no-href">nothing</a>
<a href="demo-3.0.tar.gz">demo-3.0.tar.gz
<a href="demo-4.0.tar.gz">demo-4.0.tar.gz</a>
<a href="demo-5.0.tar.gz">demo-9.9.tar.gz</a>"#;
        let page = parse(None, body).unwrap();
        let names: Vec<&str> = page.files.iter().map(|f| f.filename.as_str()).collect();
        let expected =
            ["demo+1-1.0.tar.gz", "demo-2.0.tar.gz", "demo-3.0.tar.gz", "demo-4.0.tar.gz", "demo-5.0.tar.gz"];
        assert_eq!(names, expected, "named by the URL, as pip names links");
        assert_eq!(page.files[0].url.as_str(), "https://mirror.example/pkgs/demo%2B1-1.0.tar.gz");
    }

    #[test]
    fn pep_691_html_type_and_garbage() {
        let page = parse(Some("application/vnd.pypi.simple.v1+html"), "<html><body></body></html>").unwrap();
        assert!(page.files.is_empty());
        assert!(parse(HTML, "just some text").is_err());
        assert!(
            parse_page(&PackageName::from_str("demo").unwrap(), &page_url(), HTML, b"\x89PNG\r\n\x1a\n\0\0<").is_err()
        );
        assert!(parse(Some("application/octet-stream"), "{}").unwrap_err().message.contains("Content-Type"));
    }

    #[test]
    fn repository_api_major_version_other_than_1_is_refused() {
        let json = |meta: &str| {
            format!(
                r#"{{{meta}"name": "demo", "files": [{{"filename": "demo-1.0.tar.gz", "url": "demo-1.0.tar.gz"}}]}}"#
            )
        };
        let html =
            |head: &str| format!("<html><head>{head}</head><a href=\"demo-1.0.tar.gz\">demo-1.0.tar.gz</a></html>");
        for version in ["2.0", "0.9", "10", "x.y"] {
            let expected = format!("unsupported repository API version {version}");
            let meta = format!(r#""meta": {{"api-version": "{version}"}}, "#);
            assert_eq!(parse(JSON, &json(&meta)).unwrap_err().message, expected);
            let tag = format!(r#"<META content="{version}" Name="pypi:repository-version">"#);
            assert_eq!(parse(HTML, &html(&tag)).unwrap_err().message, expected);
        }
        // Minor versions are compatible; a page without a version is version 1.
        for meta in [r#""meta": {"api-version": "1.4"}, "#, r#""meta": {}, "#, ""] {
            assert_eq!(parse(JSON, &json(meta)).unwrap().files.len(), 1, "{meta}");
        }
        for head in
            [r#"<meta name="pypi:repository-version" content="1.3">"#, r#"<meta name="generator" content="2.0">"#, ""]
        {
            assert_eq!(parse(HTML, &html(head)).unwrap().files.len(), 1, "{head}");
        }
    }

    /// PEP 740: a URL (resolved like any link) from API version 1.3 on; null, a value of a draft
    /// of the PEP (a digest, an object), or an older page: none, the page still read.
    #[test]
    fn provenance_urls_from_api_version_1_3() {
        let json = |version: &str, provenance: serde_json::Value| {
            let body = serde_json::json!({"meta": {"api-version": version}, "files": [{
                "filename": "demo-1.0.tar.gz", "url": "demo-1.0.tar.gz", "provenance": provenance
            }]});
            parse(JSON, &body.to_string()).unwrap().files[0].provenance.clone()
        };
        let absolute = "https://files.example/demo-1.0.tar.gz.provenance";
        assert_eq!(json("1.3", absolute.into()).as_deref(), Some(absolute));
        assert_eq!(json("1.4", absolute.into()).as_deref(), Some(absolute));
        let relative = json("1.3", "../../files/demo-1.0.tar.gz.provenance#x".into());
        assert_eq!(relative.as_deref(), Some("https://index.example/files/demo-1.0.tar.gz.provenance"));
        for (version, value) in [
            ("1.3", serde_json::Value::Null),
            ("1.3", "".into()),
            ("1.3", serde_json::json!({"version": 1, "attestation_bundles": []})),
            ("1.3", "http://[::1".into()),
            ("1.2", absolute.into()),
            ("1", absolute.into()),
        ] {
            assert_eq!(json(version, value.clone()), None, "{version} {value}");
        }

        let html = |head: &str, attribute: &str| {
            let body = format!("<html><head>{head}</head><a href=\"demo-1.0.tar.gz\" {attribute}>demo-1.0.tar.gz</a>");
            parse(HTML, &body).unwrap().files[0].provenance.clone()
        };
        let meta = r#"<meta name="pypi:repository-version" content="1.3">"#;
        let attribute = r#"data-provenance="https://files.example/demo-1.0.tar.gz.provenance?a=1&amp;b=2""#;
        let expected = "https://files.example/demo-1.0.tar.gz.provenance?a=1&b=2";
        assert_eq!(html(meta, attribute).as_deref(), Some(expected));
        let based = html(&format!(r#"{meta}<base href="https://mirror.example/p/">"#), r#"data-provenance="x""#);
        assert_eq!(based.as_deref(), Some("https://mirror.example/p/x"));
        assert_eq!(html("", attribute), None, "a page without a version is 1.0");
        assert_eq!(html(r#"<meta name="pypi:repository-version" content="1.1">"#, attribute), None);
        assert_eq!(html(meta, r#"data-provenance="""#), None);
        assert_eq!(html(meta, ""), None);
    }

    #[test]
    fn entities_are_decoded_and_unknown_ones_kept() {
        assert_eq!(
            decode_entities("a&amp;b &lt;&gt; &#60;&#x3e; &nbsp; &#xZZ; & &#99999999999;"),
            "a&b <> <> &nbsp; &#xZZ; & &#99999999999;"
        );
    }

    proptest! {
        #[test]
        fn parse_page_never_panics(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            for content_type in [JSON, HTML, None] {
                let _ = parse_page(&PackageName::from_str("demo").unwrap(), &page_url(), content_type, &body);
            }
        }

        #[test]
        fn html_scanner_never_panics_on_tag_soup(
            body in r#"(<a |<A\t|<base |href=|HREF ?= ?|data-yanked|data-core-metadata=|data-provenance=|<meta name=pypi:repository-version content=1.3>|"|'|&#x?[0-9a-f]{0,8};?|&amp;|>|</a>|<!--|-->|#sha256=|[a-zé€ /.=]){0,60}"#
        ) {
            let _ = parse(HTML, &body);
        }
    }
}
