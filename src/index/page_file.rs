//! The on-disk form of a cached project page: a few header lines, a list of the page's
//! versions, then one tab-separated line per file. A warm run reads tens of thousands of files
//! from these; a line format parses several times faster than JSON with field names, and needs
//! no URL parsing at all.
//!
//! ```text
//! hashlock page 7
//! fetched_at 1795597826
//! max_age -                   (or seconds)
//! name six
//! url https://index.example/simple/six/
//! format json                 (or html)
//! files_base https://files.example/packages/
//! files 2
//! versions 1 14               (COUNT BYTES: the version lines, and how many bytes they take)
//! 2 431 1.16.0                (COUNT BYTES VERSION: the next COUNT file lines, BYTES long, are of VERSION)
//! FILENAME \t URL \t HASHES \t SOURCE \t REQUIRES-PYTHON \t YANKED \t CORE-METADATA \t UPLOAD-TIME \t PROVENANCE \t SIZE
//! …
//! end
//! ```
//!
//! The file lines come grouped by the PEP 440 version their filenames name, one group per
//! version (`1.0` and `1.0.0` are one, named as the page first names it), in PEP 440 order,
//! in page order within one; the files whose names give no version PEP 440 reads (not a wheel
//! or sdist of the project, or a legacy version) come last, in a group with an empty VERSION.
//! So a project's releases are the groups as they stand: a version is parsed only when it is
//! looked at (a binary search looks at a dozen of thousands). Entries of format 6, whose groups
//! are by version text in page order, are read too, and sorted when read. A warm run reads the
//! header and the version list, and a version's lines only when that version is asked for
//! ([`read`]): most projects have a version or two asked for out of hundreds, and reading and
//! checking every line was most of a warm run.
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
//! (`\\`, `\t`, `\n`, `\r`, `\c` for `,`, `\e` for `=`). A damaged header, lengths that do not
//! add up to the file's or a missing `end` line (a truncated write) make the whole entry
//! unreadable; a damaged group of file lines, found when its version is read, is recorded in
//! the [`DamageLog`] for the command to fail on.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};
use std::fmt::Write;
use std::fs::File;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use pep508_rs::PackageName;
use pep508_rs::pep440_rs::Version;
use reqwest::Url;

use crate::dist::{CoreMetadata, DistFile, FilenameParts, HashSource, Hashes, UploadTime};
use crate::index::{FileSummary, PageFormat, ProjectPage};

const MAGIC: &str = "hashlock page 7";
/// Format 6, the same but for the order of the groups (see the module docs).
const MAGIC_UNORDERED: &str = "hashlock page 6";

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
    let files_base = common_prefix(page.files.iter().map(|file| file.url.as_str()));
    let groups = version_groups(page);
    // The file lines first: the version list gives each group's length in bytes.
    let mut body = String::with_capacity(estimate);
    let mut list = String::new();
    for (version, files) in &groups {
        let before = body.len();
        for file in files {
            write_line(&mut body, file, files_base);
        }
        let _ = writeln!(list, "{} {} {}", files.len(), body.len() - before, escape(version));
    }
    let format = match page.format {
        PageFormat::Json => "json",
        PageFormat::Html => "html",
    };
    let max_age = max_age.map_or("-".to_string(), |secs| secs.to_string());
    let mut out = String::with_capacity(512 + page.url.as_str().len() + files_base.len() + list.len() + body.len());
    let _ = writeln!(out, "{MAGIC}\nfetched_at {fetched_at}\nmax_age {max_age}");
    let _ = writeln!(
        out,
        "name {}\nurl {}\nformat {format}\nfiles_base {}\nfiles {}\nversions {} {}",
        page.name,
        escape(page.url.as_str()),
        escape(files_base),
        page.files.len(),
        groups.len(),
        list.len()
    );
    out.push_str(&list);
    out.push_str(&body);
    out.push_str(END);
    out
}

/// What ends every entry: without it, the write was cut short.
const END: &str = "end\n";

fn write_line(out: &mut String, file: &DistFile, files_base: &str) {
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

/// The page's files grouped by the PEP 440 version of their filenames, in PEP 440 order, each
/// group named by the first spelling the page gives; the files that name none PEP 440 reads
/// last, under `""`.
fn version_groups(page: &ProjectPage) -> Vec<(&str, Vec<&DistFile>)> {
    let mut groups: Vec<(Version, &str, Vec<&DistFile>)> = Vec::new();
    let mut position: HashMap<&str, usize> = HashMap::new();
    let mut unversioned = Vec::new();
    for file in &page.files {
        let parts = FilenameParts::split(&file.filename, &page.name);
        let Some(text) = parts.as_ref().map(FilenameParts::version) else {
            unversioned.push(file);
            continue;
        };
        let at = match position.get(text) {
            Some(at) => *at,
            None => {
                let Ok(version) = Version::from_str(text) else {
                    unversioned.push(file);
                    continue;
                };
                groups.push((version, text, Vec::new()));
                position.insert(text, groups.len() - 1);
                groups.len() - 1
            }
        };
        groups[at].2.push(file);
    }
    // Stable: of two spellings of one version, the page's first comes first.
    groups.sort_by(|a, b| a.0.cmp(&b.0));
    let mut merged: Vec<(Version, &str, Vec<&DistFile>)> = Vec::with_capacity(groups.len());
    for (version, text, files) in groups {
        match merged.last_mut() {
            Some((last, _, kept)) if *last == version => kept.extend(files),
            _ => merged.push((version, text, files)),
        }
    }
    let mut groups: Vec<(&str, Vec<&DistFile>)> = merged.into_iter().map(|(_, text, files)| (text, files)).collect();
    if !unversioned.is_empty() {
        groups.push(("", unversioned));
    }
    groups
}

/// A cached page whose versions are known and whose file lines are read and checked a version
/// at a time, when asked for ([`CachedPage::file`]); the others stay on disk or unchecked in
/// the entry's text (or, for a page just fetched, were checked with it).
#[derive(Debug)]
pub struct CachedPage {
    pub name: PackageName,
    pub url: Url,
    pub format: PageFormat,
    /// What every file URL of the page starts with.
    files_base: String,
    groups: Vec<Group>,
    /// Whether the groups are the releases, in order (format 7), or need sorting (format 6).
    in_order: bool,
    /// The header and version list, when not in `text`.
    head: String,
    /// The whole entry, when it was read at once; else empty.
    text: String,
    /// Where the groups not read yet are.
    unread: Unread,
}

/// Where a page's groups not read yet are read from.
#[derive(Debug)]
enum Unread {
    /// Nowhere: every group was checked with the entry.
    Nothing,
    /// The page's text, read whole from a small cache file.
    Text(Origin),
    /// The open cache file.
    File(PageFile),
}

/// The files of one version (`None` for the files whose names give none PEP 440 reads).
/// Small, as a page can list thousands: u32 offsets (an entry over 4 GiB is not read), the
/// version parsed when first looked at, and the lines boxed, as most groups are never read.
#[derive(Debug)]
struct Group {
    /// Where its version's text is in the header.
    version_text: Range<u32>,
    version: OnceLock<Option<Version>>,
    /// Where its files are in the page's numbering.
    files: Range<u32>,
    /// Where its lines are in the entry.
    bytes: Range<u32>,
    /// Its lines, once read; `None` for a damaged group.
    lines: OnceLock<Option<Box<GroupLines>>>,
}

impl Group {
    fn files(&self) -> Range<usize> {
        self.files.start as usize..self.files.end as usize
    }

    fn bytes(&self) -> Range<usize> {
        self.bytes.start as usize..self.bytes.end as usize
    }
}

#[derive(Debug)]
struct GroupLines {
    /// The group's text when read on its own; `None` when it is in [`CachedPage::text`].
    text: Option<String>,
    lines: Vec<Line>,
    /// The group's files, decoded the first time they are asked for as a whole.
    decoded: OnceLock<Box<[DistFile]>>,
}

impl GroupLines {
    fn new(text: Option<String>, lines: Vec<Line>) -> Box<Self> {
        Box::new(Self { text, lines, decoded: OnceLock::new() })
    }

    /// The text of `line`, one of these lines of `group` of `page`.
    fn line_text<'a>(&'a self, page: &'a CachedPage, group: &Group, line: &Line) -> &'a str {
        let text = self.text.as_deref().unwrap_or_else(|| &page.text[group.bytes()]);
        &text[line.start as usize..line.end as usize]
    }
}

/// Where one file line's fields lie in its group's text, and the small ones already read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Line {
    /// Where the line starts and ends.
    start: u32,
    end: u32,
    /// Where each field starts, from the line's start: choosing versions reads three fields
    /// of every file of every version asked for, and finding them by their tabs each time
    /// cost a third of a warm run. [`FAR`] past 64 KiB (a line that long is found by its tabs).
    fields: [u16; FIELDS],
    hash_source: HashSource,
    size: Option<u64>,
}

impl Line {
    /// The text of `field` in `text`, this line's.
    fn field<'t>(&self, text: &'t str, field: Field) -> &'t str {
        let (from, to) = (self.fields[field as usize], self.fields.get(field as usize + 1).copied());
        match (from, to) {
            // Checked when read: the line has all its fields, each but the last followed by a tab.
            (FAR, _) | (_, Some(FAR)) => text.split('\t').nth(field as usize).unwrap_or_default(),
            (from, Some(to)) => &text[from as usize..to as usize - 1],
            (from, None) => &text[from as usize..],
        }
    }
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

#[derive(Debug)]
pub struct CachedEntry {
    pub fetched_at: u64,
    pub max_age: Option<u64>,
    pub page: CachedPage,
}

/// The cache entries found damaged after they were opened (a group of file lines that does not
/// check, or cannot be read): the files of that version are left out, so the command must not
/// give an answer, and the entry is removed.
#[derive(Clone, Debug, Default)]
pub struct DamageLog(Arc<Mutex<BTreeSet<PathBuf>>>);

impl DamageLog {
    fn record(&self, path: &Path) {
        self.0.lock().unwrap_or_else(|poison| poison.into_inner()).insert(path.to_path_buf());
    }

    /// The damaged entries so far, sorted.
    pub fn entries(&self) -> Vec<PathBuf> {
        self.0.lock().unwrap_or_else(|poison| poison.into_inner()).iter().cloned().collect()
    }
}

/// The cache file an entry was read from, where damage found later is recorded.
#[derive(Debug)]
struct Origin {
    path: PathBuf,
    damage: DamageLog,
}

/// An open cache file, kept to read groups from: a cache file is only ever replaced whole (by
/// a rename), so the open file keeps the entry it was opened as.
#[derive(Debug)]
struct PageFile {
    file: File,
    origin: Origin,
}

/// Open cache files kept at once, at most [`MAX_OPEN_PAGES`]: past it, pages are read whole,
/// so that a tree of thousands of projects stays under the usual limit of 1024 open files.
static OPEN_PAGES: AtomicUsize = AtomicUsize::new(0);
const MAX_OPEN_PAGES: usize = 256;

impl PageFile {
    /// `Err(file)` when the budget of open pages is spent.
    fn keep(file: File, origin: Origin) -> Result<Self, (File, Origin)> {
        let claim = OPEN_PAGES
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |open| (open < MAX_OPEN_PAGES).then_some(open + 1));
        match claim {
            Ok(_) => Ok(Self { file, origin }),
            Err(_) => Err((file, origin)),
        }
    }

    fn read_group(&self, group: &Group) -> Option<Box<GroupLines>> {
        let bytes = group.bytes();
        let text = String::from_utf8(read_at(&self.file, bytes.start as u64, bytes.len()).ok()?).ok()?;
        let lines = check_group(&text, group.files().len())?;
        Some(GroupLines::new(Some(text), lines))
    }
}

impl Drop for PageFile {
    fn drop(&mut self) {
        OPEN_PAGES.fetch_sub(1, Ordering::AcqRel);
    }
}

/// `len` bytes of `file` from `offset`, without moving a shared cursor.
fn read_at(file: &File, offset: u64, len: usize) -> std::io::Result<Vec<u8>> {
    let mut buf = vec![0; len];
    #[cfg(unix)]
    std::os::unix::fs::FileExt::read_exact_at(file, &mut buf, offset)?;
    #[cfg(windows)]
    {
        let mut done = 0;
        while done < len {
            match std::os::windows::fs::FileExt::seek_read(file, &mut buf[done..], offset + done as u64)? {
                0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
                read => done += read,
            }
        }
    }
    Ok(buf)
}

/// A page file up to this size is read whole (its groups checked when asked for); a larger
/// one reads its header, and its groups when asked for.
const READ_WHOLE: usize = 64 * 1024;
/// What is read first of a larger one: the header lines before the version list, which say
/// how long that is. Small, because every byte read is a byte of memory touched, and touching
/// fresh memory (a page fault each 4 KiB) was a tenth of a warm run.
const READ_FIRST: usize = 4 * 1024;

/// Reads the entry in `file` (at `path`): the header and version list now, each group of file
/// lines when its version is first asked for, with damage found then recorded in `damage`.
/// `None` for an entry whose header, lengths or end do not check.
pub fn read(file: File, path: &Path, damage: &DamageLog) -> Option<CachedEntry> {
    let len = usize::try_from(file.metadata().ok()?.len()).ok()?;
    let origin = Origin { path: path.to_path_buf(), damage: damage.clone() };
    let whole = |file: File, origin| {
        let text = String::from_utf8(read_at(&file, 0, len).ok()?).ok()?;
        let (fetched_at, max_age, mut page) = parse_header(&text)?;
        if text.get(body_end(&page, &text)?..)? != END {
            return None;
        }
        (page.text, page.unread) = (text, Unread::Text(origin));
        Some(CachedEntry { fetched_at, max_age, page })
    };
    if len <= READ_WHOLE {
        return whole(file, origin);
    }
    let kept = match PageFile::keep(file, origin) {
        Ok(kept) => kept,
        Err((file, origin)) => return whole(file, origin),
    };
    let mut head = read_at(&kept.file, 0, READ_FIRST).ok()?;
    let header_len = header_len(&head)?;
    if header_len > head.len() {
        head = read_at(&kept.file, 0, header_len).ok()?;
    }
    head.truncate(header_len);
    let head = String::from_utf8(head).ok()?;
    let (fetched_at, max_age, mut page) = parse_header(&head)?;
    page.head = head;
    let body_end = page.groups.last().map_or(header_len, |group| group.bytes().end);
    if body_end.checked_add(END.len()) != Some(len)
        || read_at(&kept.file, body_end as u64, END.len()).ok()? != END.as_bytes()
    {
        return None;
    }
    page.unread = Unread::File(kept);
    Some(CachedEntry { fetched_at, max_age, page })
}

/// Decodes a whole entry in memory, checking every line now. `None` for anything but a
/// complete, well-formed entry.
pub fn decode(text: String) -> Option<CachedEntry> {
    let (fetched_at, max_age, mut page) = parse_header(&text)?;
    if text.get(body_end(&page, &text)?..)? != END {
        return None;
    }
    for group in &page.groups {
        let lines = check_group(&text[group.bytes()], group.files().len())?;
        let _ = group.lines.set(Some(GroupLines::new(None, lines)));
    }
    page.text = text;
    Some(CachedEntry { fetched_at, max_age, page })
}

/// Where the file lines of `text`, the entry of `page`, end.
fn body_end(page: &CachedPage, text: &str) -> Option<usize> {
    page.groups.last().map_or_else(|| header_len(text.as_bytes()), |group| Some(group.bytes().end))
}

/// The header's lines before the version list.
const HEADER_LINES: usize = 9;

/// How long the header and version list are, from the `versions` line; `None` if the first
/// [`HEADER_LINES`] lines are not all in `head`, or that line does not read.
fn header_len(head: &[u8]) -> Option<usize> {
    let mut at = 0;
    let mut last = &head[..0];
    for _ in 0..HEADER_LINES {
        let line = head.get(at..)?.split(|&b| b == b'\n').next()?;
        at += line.len() + 1;
        last = line;
    }
    at.checked_sub(1).filter(|end| head.get(*end) == Some(&b'\n'))?;
    let (_, list_len) = std::str::from_utf8(last).ok()?.strip_prefix("versions ")?.split_once(' ')?;
    at.checked_add(list_len.parse().ok()?)
}

/// The header of `text` (which starts with it, and may go on), and the page it describes, its
/// groups not read.
fn parse_header(text: &str) -> Option<(u64, Option<u64>, CachedPage)> {
    let header_len = header_len(text.as_bytes())?;
    let mut lines = text.get(..header_len)?.lines();
    let in_order = match lines.next()? {
        MAGIC => true,
        MAGIC_UNORDERED => false,
        _ => return None,
    };
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
    let (groups, _) = header("versions")?.split_once(' ')?;
    let groups: usize = groups.parse().ok()?;
    let mut versions = Vec::with_capacity(groups.min(count));
    let (mut files, mut bytes) = (0, u32::try_from(header_len).ok()?);
    for _ in 0..groups {
        let (count, rest) = lines.next()?.split_once(' ')?;
        let (len, version) = rest.split_once(' ')?;
        let files_end = count.parse::<u32>().ok().and_then(|count| count.checked_add(files))?;
        let bytes_end = len.parse::<u32>().ok().and_then(|len| len.checked_add(bytes))?;
        // Where the version's text is: the lines are slices of `text`, within its first 4 GiB.
        let version_start = (version.as_ptr() as usize - text.as_ptr() as usize) as u32;
        versions.push(Group {
            version_text: version_start..version_start + version.len() as u32,
            version: OnceLock::new(),
            files: files..files_end,
            bytes: bytes..bytes_end,
            lines: OnceLock::new(),
        });
        (files, bytes) = (files_end, bytes_end);
    }
    if files as usize != count || lines.next().is_some() {
        return None;
    }
    let page = CachedPage {
        name,
        url,
        format,
        files_base,
        groups: versions,
        in_order,
        head: String::new(),
        text: String::new(),
        unread: Unread::Nothing,
    };
    Some((fetched_at, max_age, page))
}

/// The lines of a group of `files` file lines.
fn check_group(text: &str, files: usize) -> Option<Vec<Line>> {
    // Offsets are u32: a group beyond 4 GiB is not a group.
    u32::try_from(text.len()).ok()?;
    let mut lines = Vec::with_capacity(files.min(1 << 16));
    let mut rest = text;
    for _ in 0..files {
        let (line, after) = rest.split_once('\n')?;
        lines.push(check_line(line, text.len() - rest.len())?);
        rest = after;
    }
    rest.is_empty().then_some(lines)
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
        self.groups.last().map_or(0, |group| group.files().end)
    }

    /// How many entries [`CachedPage::versions`] gives, at most.
    pub fn version_count(&self) -> usize {
        self.groups.len()
    }

    /// Each version the page has files of, with where they are (in a format 6 entry, several
    /// entries for one version where the filenames spell it apart, `1.0` and `1.0.0`).
    pub fn versions(&self) -> impl Iterator<Item = (&Version, Range<usize>)> {
        (0..self.groups.len()).filter_map(|at| Some((self.version(at)?, self.groups[at].files())))
    }

    /// How many releases the page has when its groups are its releases in PEP 440 order, one
    /// per version (format 7), each read by [`CachedPage::release`] without parsing the others.
    pub fn releases_in_order(&self) -> Option<usize> {
        let unversioned = self.groups.last().is_some_and(|group| group.version_text.is_empty());
        self.in_order.then(|| self.groups.len() - usize::from(unversioned))
    }

    /// The release at `position` (see [`CachedPage::releases_in_order`]) and where its files are.
    pub fn release(&self, position: usize) -> Option<(&Version, Range<usize>)> {
        Some((self.version(position)?, self.groups.get(position)?.files()))
    }

    /// The files of the group at `at`, decoded the first time they are asked for (none for a
    /// damaged group, see [`DamageLog`]).
    pub fn group_files(&self, at: usize) -> &[DistFile] {
        let Some((group, read)) = self.groups.get(at).and_then(|group| Some((group, self.group_lines(group)?))) else {
            return &[];
        };
        read.decoded.get_or_init(|| {
            read.lines.iter().map(|line| self.decode(read.line_text(self, group, line), line)).collect()
        })
    }

    /// The version of the group at `at`, parsed the first time it is asked for.
    fn version(&self, at: usize) -> Option<&Version> {
        let group = self.groups.get(at)?;
        let parsed = group.version.get_or_init(|| {
            let header = if self.head.is_empty() { &self.text } else { &self.head };
            let text = header.get(group.version_text.start as usize..group.version_text.end as usize)?;
            let version = Version::from_str(&unescape(text)).ok();
            if version.is_none() && self.in_order && !text.is_empty() {
                // Format 7 writes only versions PEP 440 reads: the entry is damaged.
                self.record_damage();
            }
            version
        });
        parsed.as_ref()
    }

    /// Records the cache file this page came from as damaged (see [`DamageLog`]).
    fn record_damage(&self) {
        match &self.unread {
            Unread::Nothing => {}
            Unread::Text(origin) | Unread::File(PageFile { origin, .. }) => origin.damage.record(&origin.path),
        }
    }

    /// The text of the file line at `index`, and where its fields are; `None` when its group
    /// is damaged (see [`DamageLog`]).
    fn line(&self, index: usize) -> Option<(&str, &Line)> {
        let group = self.groups.get(self.groups.partition_point(|group| group.files().end <= index))?;
        let read = self.group_lines(group)?;
        let line = read.lines.get(index - group.files().start)?;
        Some((read.line_text(self, group, line), line))
    }

    /// The lines of `group`, read and checked the first time they are asked for; `None` when
    /// the group is damaged.
    fn group_lines<'a>(&'a self, group: &'a Group) -> Option<&'a GroupLines> {
        group.lines.get_or_init(|| self.read_group(group)).as_deref()
    }

    /// A group not read yet, checked; damage found is recorded against the cache file.
    fn read_group(&self, group: &Group) -> Option<Box<GroupLines>> {
        let read = match &self.unread {
            Unread::Nothing => return None,
            Unread::Text(_) => {
                let text = self.text.get(group.bytes());
                let lines = text.and_then(|text| check_group(text, group.files().len()));
                lines.map(|lines| GroupLines::new(None, lines))
            }
            Unread::File(file) => file.read_group(group),
        };
        if read.is_none() {
            self.record_damage();
        }
        read
    }

    fn field(&self, index: usize, field: Field) -> Option<&str> {
        let (text, line) = self.line(index)?;
        Some(line.field(text, field))
    }

    pub fn filename(&self, index: usize) -> Option<Cow<'_, str>> {
        self.field(index, Field::Filename).map(unescape)
    }

    /// What choosing a version reads of the file at `index`, from one lookup of its line;
    /// `None` when its group is damaged.
    pub fn summary(&self, index: usize) -> Option<FileSummary<'_>> {
        let (text, line) = self.line(index)?;
        Some(FileSummary {
            filename: unescape(line.field(text, Field::Filename)),
            requires_python: line.field(text, Field::RequiresPython).strip_prefix('=').map(unescape),
            yanked: !line.field(text, Field::Yanked).is_empty(),
        })
    }

    /// The file at `index`, decoded; `None` when its group is damaged.
    pub fn file(&self, index: usize) -> Option<DistFile> {
        let (text, line) = self.line(index)?;
        Some(self.decode(text, line))
    }

    /// The file of `line`, whose text is `text`.
    fn decode(&self, text: &str, line: &Line) -> DistFile {
        let field = |field| line.field(text, field);
        let optional = |field: &str| field.strip_prefix('=').map(|v| unescape(v).into_owned());
        let core_metadata = match field(Field::CoreMetadata).strip_prefix('=') {
            None => CoreMetadata::Absent,
            Some(hashes) => CoreMetadata::Present(decode_hashes(hashes)),
        };
        let filename = unescape(field(Field::Filename)).into_owned();
        DistFile {
            url: self.url(field(Field::Url), &filename),
            filename,
            hashes: decode_hashes(field(Field::Hashes)),
            hash_source: line.hash_source,
            requires_python: optional(field(Field::RequiresPython)),
            yanked: optional(field(Field::Yanked)),
            core_metadata,
            size: line.size,
            upload_time: UploadTime::parse(field(Field::UploadTime)),
            provenance: optional(field(Field::Provenance)),
        }
    }

    fn url(&self, field: &str, filename: &str) -> String {
        let (rest, with_filename) = match field.strip_prefix('~') {
            Some(rest) => (rest, true),
            None => (field.get(1..).unwrap_or_default(), false),
        };
        let mut url = format!("{}{}", self.files_base, unescape(rest));
        if with_filename {
            url.push_str(filename);
        }
        url
    }

    /// Every file decoded, as the page listed them (grouped by version).
    #[cfg(test)]
    pub(crate) fn into_page(self) -> ProjectPage {
        let files = (0..self.len()).map(|i| self.file(i).expect("an undamaged page")).collect();
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
pub(crate) mod tests {
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
        assert_eq!(entry.page.filename(1).as_deref(), Some("demo_pkg-1.0.tar.gz"));
        assert_eq!(entry.page.summary(0).unwrap().requires_python.as_deref(), Some(">=3.8, !=3.9.*"));
        assert!(entry.page.summary(0).unwrap().yanked && entry.page.summary(1).unwrap().yanked);
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
    fn files_are_kept_grouped_by_the_version_their_names_give_in_pep_440_order() {
        let names = [
            "demo_pkg-10.0.tar.gz",
            "demo_pkg-not.a.version.tar.gz",
            "demo_pkg-2.0.tar.gz",
            "README.txt",
            "demo_pkg-2.0-py3-none-any.whl",
            "demo_pkg-1.0.tar.gz",
        ];
        let page = decode(encode(0, None, &page(names.map(file).to_vec()))).unwrap().page;
        let versions: Vec<(String, Range<usize>)> = page.versions().map(|(v, files)| (v.to_string(), files)).collect();
        let expected = [("1.0".to_string(), 0..1), ("2.0".to_string(), 1..3), ("10.0".to_string(), 3..4)];
        assert_eq!(versions, expected, "README.txt names no version, and not.a.version none PEP 440 reads");
        let kept: Vec<String> = (0..page.len()).filter_map(|i| Some(page.filename(i)?.into_owned())).collect();
        let expected = [
            "demo_pkg-1.0.tar.gz",
            "demo_pkg-2.0.tar.gz",
            "demo_pkg-2.0-py3-none-any.whl",
            "demo_pkg-10.0.tar.gz",
            "demo_pkg-not.a.version.tar.gz",
            "README.txt",
        ];
        assert_eq!(kept, expected);
    }

    #[test]
    fn fields_past_64_kib_into_a_line_are_read_too() {
        let long = DistFile {
            url: format!("https://files.example/{}/demo_pkg-1.0.tar.gz", "a".repeat(70_000)),
            ..file("demo_pkg-1.0.tar.gz")
        };
        let page = page(vec![long, file("demo_pkg-1.0-py3-none-any.whl")]);
        let entry = decode(encode(0, None, &page)).unwrap();
        assert_eq!(entry.page.summary(0).unwrap().requires_python.as_deref(), Some(">=3.8, !=3.9.*"));
        assert!(entry.page.summary(0).unwrap().yanked);
        assert_eq!(entry.page.into_page(), page);
    }

    #[test]
    fn truncated_or_altered_entries_are_unreadable() {
        let text = encode(1, None, &page(vec![file("demo_pkg-1.0-py3-none-any.whl"); 3]));
        for cut in [text.len() - 4, text.len() / 2, 20] {
            assert!(decode(text[..cut].to_string()).is_none(), "cut at {cut}");
        }
        assert!(decode(text.replace("files 3", "files 2")).is_none());
        assert!(decode(text.replace("\thtml\t", "\tweird\t")).is_none());
        assert!(decode(text.replace("\t=broken", "\tbroken")).is_none(), "an optional field without its `=`");
        assert!(decode(text.replace("sha256=", "sha256:")).is_none(), "a hash without `=`");
        assert!(decode(text.replace("hashlock page 7", "hashlock page 9")).is_none());
        assert!(
            decode(text.replace("hashlock page 7", "hashlock page 4")).is_none(),
            "an entry without version groups"
        );
        let group = text.lines().find(|line| line.ends_with(" 1.0")).unwrap();
        let (files, rest) = group.split_once(' ').unwrap();
        let (bytes, _) = rest.split_once(' ').unwrap();
        let with =
            |files: &str, bytes: &str| text.replace(&format!("\n{group}\n"), &format!("\n{files} {bytes} 1.0\n"));
        assert!(decode(with("2", bytes)).is_none(), "groups that miss a file");
        let longer = (bytes.parse::<usize>().unwrap() + 1).to_string();
        assert!(decode(with(files, &longer)).is_none(), "lengths that do not add up to the entry's");
        assert!(decode(text.replace("\t=https", "\thttps")).is_none(), "a provenance URL without its `=`");
        assert!(decode(text.replace("2024-01-02T", "2024-02-30T")).is_none(), "an upload time that is none");
        assert!(decode(format!("{text}trailing\n")).is_none());
    }

    /// `text`, an entry, as format 6 would have it for a page listing its versions newest first.
    pub(crate) fn as_format_6_newest_first(text: &str) -> String {
        let header_len = header_len(text.as_bytes()).unwrap();
        let mut lines = text[..header_len].lines();
        let head: Vec<&str> = lines.by_ref().take(HEADER_LINES - 1).collect();
        let groups: Vec<&str> = lines.skip(1).collect();
        let mut at = header_len;
        let mut bodies = Vec::new();
        for group in &groups {
            let len: usize = group.split(' ').nth(1).unwrap().parse().unwrap();
            bodies.push(&text[at..at + len]);
            at += len;
        }
        let list: String = groups.iter().rev().map(|group| format!("{group}\n")).collect();
        let head = head.join("\n").replacen(MAGIC, MAGIC_UNORDERED, 1);
        let bodies: String = bodies.into_iter().rev().collect();
        format!("{head}\nversions {} {}\n{list}{bodies}{END}", groups.len(), list.len())
    }

    #[test]
    fn one_group_per_version_in_pep_440_order_each_version_parsed_when_looked_at() {
        let names = ["demo_pkg-2.0.tar.gz", "demo_pkg-1.0.0-py3-none-any.whl", "demo_pkg-1.0.tar.gz"];
        let page = decode(encode(0, None, &page(names.map(file).to_vec()))).unwrap().page;
        assert_eq!(page.releases_in_order(), Some(2), "1.0.0 and 1.0 are one version");
        let parsed = |page: &CachedPage| page.groups.iter().filter(|g| g.version.get().is_some()).count();
        assert_eq!(parsed(&page), 0);
        let (version, files) = page.release(1).unwrap();
        assert_eq!((version.to_string(), files), ("2.0".to_string(), 2..3));
        assert_eq!(parsed(&page), 1, "only the version looked at is parsed");
        let (version, files) = page.release(0).unwrap();
        assert_eq!(
            (version.to_string(), files.clone()),
            ("1.0.0".to_string(), 0..2),
            "named as the page first names it"
        );
        let kept: Vec<String> = files.filter_map(|i| Some(page.filename(i)?.into_owned())).collect();
        assert_eq!(kept, ["demo_pkg-1.0.0-py3-none-any.whl", "demo_pkg-1.0.tar.gz"], "in page order");
        assert!(page.release(2).is_none());
    }

    #[test]
    fn a_version_pep_440_does_not_read_in_an_entry_in_order_is_damage() {
        let dir = tempfile::tempdir().unwrap();
        let text = encode(7, None, &large_page());
        let line = text.lines().find(|line| line.ends_with(" 150.0")).unwrap();
        let path = write_entry(dir.path(), &text.replacen(line, &line.replace(" 150.0", " 15@.0"), 1));
        let damage = DamageLog::default();
        let entry = read(File::open(&path).unwrap(), &path, &damage).unwrap();
        assert_eq!(entry.page.release(149).map(|(v, _)| v.to_string()), Some("149.0".to_string()));
        assert!(damage.entries().is_empty());
        assert!(entry.page.release(150).is_none());
        assert_eq!(damage.entries(), [path]);
    }

    /// A page of `versions` versions, two files each.
    fn page_of(versions: usize) -> ProjectPage {
        let files =
            (0..versions).flat_map(|v| [format!("demo_pkg-{v}.0.tar.gz"), format!("demo_pkg-{v}.0-py3-none-any.whl")]);
        page(files.map(|name| file(&name)).collect())
    }

    /// A page whose entry is larger than what is read whole: 300 versions.
    fn large_page() -> ProjectPage {
        page_of(300)
    }

    fn write_entry(dir: &Path, text: &str) -> PathBuf {
        let path = dir.join("demo-pkg.page");
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn a_large_entry_is_read_a_version_at_a_time_and_gives_what_was_stored() {
        let dir = tempfile::tempdir().unwrap();
        let page = large_page();
        let text = encode(7, Some(60), &page);
        assert!(text.len() > READ_WHOLE, "{} bytes", text.len());
        let path = write_entry(dir.path(), &text);
        let damage = DamageLog::default();
        let entry = read(File::open(&path).unwrap(), &path, &damage).unwrap();
        assert_eq!((entry.fetched_at, entry.max_age), (7, Some(60)));
        let read_groups = |page: &CachedPage| page.groups.iter().filter(|g| g.lines.get().is_some()).count();
        assert_eq!(read_groups(&entry.page), 0, "nothing read before a version is asked for");
        assert_eq!(entry.page.filename(599).as_deref(), Some("demo_pkg-299.0-py3-none-any.whl"));
        assert_eq!(read_groups(&entry.page), 1);
        assert_eq!(entry.page.into_page(), page);
        assert!(damage.entries().is_empty());
    }

    #[test]
    fn a_damaged_group_found_when_read_is_logged_and_its_files_left_out() {
        let dir = tempfile::tempdir().unwrap();
        // An entry read in parts, and one read whole (and checked a group at a time too).
        for versions in [300, 20] {
            let text = encode(7, None, &page_of(versions));
            assert_eq!(text.len() > READ_WHOLE, versions == 300);
            let damaged_version = versions / 2;
            // Same length, so only reading the group finds it.
            let at = text.find(&format!("demo_pkg-{damaged_version}.0.tar.gz\t")).unwrap();
            let damaged = format!("{}{}", &text[..at], text[at..].replacen("\thtml\t", "\thtmx\t", 1));
            let path = write_entry(dir.path(), &damaged);
            let damage = DamageLog::default();
            let entry = read(File::open(&path).unwrap(), &path, &damage).unwrap();
            let (before, damaged_file) = (2 * damaged_version - 1, 2 * damaged_version);
            let undamaged = format!("demo_pkg-{}.0-py3-none-any.whl", damaged_version - 1);
            assert_eq!(entry.page.filename(before).as_deref(), Some(undamaged.as_str()));
            assert!(damage.entries().is_empty());
            assert!(entry.page.file(damaged_file).is_none() && entry.page.filename(damaged_file + 1).is_none());
            assert_eq!(damage.entries(), [path]);
        }
        let text = encode(7, None, &large_page());
        let damage = DamageLog::default();
        for cut in [text.len() - 1, text.len() - 200_000.min(text.len() / 2), READ_WHOLE + 10, 1000] {
            let path = write_entry(dir.path(), &text[..cut]);
            assert!(read(File::open(&path).unwrap(), &path, &damage).is_none(), "cut at {cut}");
        }
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

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// A large entry with one byte changed or the rest cut off: every file reads, or is
        /// left out, or the entry does not open; nothing panics.
        #[test]
        fn a_damaged_large_entry_never_panics(at in 0.0..1.0f64, byte in any::<u8>(), cut in proptest::bool::ANY) {
            let dir = tempfile::tempdir().unwrap();
            let mut bytes = encode(1, None, &large_page()).into_bytes();
            let at = (at * bytes.len() as f64) as usize;
            if cut { bytes.truncate(at) } else { bytes[at] = byte }
            let path = dir.path().join("demo-pkg.page");
            std::fs::write(&path, &bytes).unwrap();
            if let Some(entry) = read(File::open(&path).unwrap(), &path, &DamageLog::default()) {
                let _ = (0..entry.page.len()).filter_map(|i| entry.page.file(i)).count();
            }
        }
    }
}
