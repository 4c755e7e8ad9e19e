//! HTTP range requests into a remote wheel: the tail holds the zip central directory and,
//! usually, the `*.dist-info/METADATA` entry too; one suffix request covers both.
//!
//! The zip logic ([`metadata_from_ranges`]) sees the server only through a `fetch_range`
//! closure, so it is tested against in-memory wheels. When the server will not serve ranges,
//! the whole wheel is downloaded and read with the `zip` crate ([`metadata_from_wheel`]).

use std::io::Cursor;

use reqwest::Url;

use crate::dist::{DistFile, WheelFilename};
use crate::index::IndexClient;
use crate::index::http::{HttpClient, HttpError, redact};
use crate::metadata::{MAX_METADATA_SIZE, MetadataError, download, read_capped};

/// Bytes requested from the end of the wheel first. Measured on real dependency trees, 32 KiB
/// holds both the central directory and `METADATA` for most wheels.
pub const TAIL_SIZE: u64 = 32 * 1024;
/// A central directory larger than this is refused rather than downloaded.
const MAX_CENTRAL_DIRECTORY: u64 = 64 * 1024 * 1024;
/// Requested beyond a local file header's known length: its extra field may be longer than
/// the central directory's copy, and one request should still cover header and data.
const LOCAL_HEADER_SLACK: u64 = 1024;

const EOCD_SIGNATURE: u32 = 0x0605_4b50;
const EOCD_LEN: usize = 22;
const ZIP64_LOCATOR_SIGNATURE: u32 = 0x0706_4b50;
const ZIP64_LOCATOR_LEN: u64 = 20;
const ZIP64_EOCD_SIGNATURE: u32 = 0x0606_4b50;
const ZIP64_EOCD_LEN: u64 = 56;
const CENTRAL_HEADER_SIGNATURE: u32 = 0x0201_4b50;
const CENTRAL_HEADER_LEN: usize = 46;
const LOCAL_HEADER_SIGNATURE: u32 = 0x0403_4b50;
const LOCAL_HEADER_LEN: u64 = 30;
/// The longest zip comment plus the EOCD: how far from the end the EOCD can start.
const MAX_EOCD_SEARCH: u64 = 0xFFFF + EOCD_LEN as u64;

/// A byte range of a remote file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ByteRange {
    /// The last `n` bytes.
    Suffix(u64),
    /// `start..end`, end exclusive.
    Span { start: u64, end: u64 },
}

impl ByteRange {
    /// The `Range` header value.
    pub fn header_value(self) -> String {
        match self {
            Self::Suffix(n) => format!("bytes=-{n}"),
            Self::Span { start, end } => format!("bytes={start}-{}", end.saturating_sub(1)),
        }
    }
}

/// What a server sent for a range request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RangeResponse {
    /// 206: `data` starts at `offset` of a file of `total` bytes.
    Partial { offset: u64, total: u64, data: Vec<u8> },
    /// 200: the server ignored the range and sent the whole file.
    Whole(Vec<u8>),
    /// 416, or any other answer that is not a usable range.
    Refused,
}

/// How reading `METADATA` through range requests ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RangeOutcome {
    /// The raw `METADATA` bytes.
    Metadata(Vec<u8>),
    /// The server sent the whole wheel instead (read it with [`metadata_from_wheel`]).
    Whole(Vec<u8>),
    /// The server does not serve ranges.
    Refused,
}

/// The raw `METADATA` of a remote wheel: range requests unless the host is known to refuse
/// them, else (or when it turns out to refuse them) the whole wheel.
pub fn fetch(client: &IndexClient, file: &DistFile, wheel: &WheelFilename) -> Result<Vec<u8>, MetadataError> {
    let http = client.http();
    let url = &file.url;
    let mut body = None;
    if !client.range_refused(url) {
        match metadata_from_ranges(|range| request_range(http, url, range), &file.filename, wheel)? {
            RangeOutcome::Metadata(bytes) => return Ok(bytes),
            RangeOutcome::Whole(bytes) => {
                client.refuse_range(url);
                body = Some(bytes);
            }
            RangeOutcome::Refused => client.refuse_range(url),
        }
    }
    let body = match body {
        Some(body) => body,
        None => download(http, url)?,
    };
    metadata_from_wheel(&body, &file.filename, wheel)
}

/// One range request, classified. Missing files and server errors are errors, not refusals:
/// downloading the whole file would fail the same way.
fn request_range(http: &HttpClient, url: &Url, range: ByteRange) -> Result<RangeResponse, MetadataError> {
    let value = range.header_value();
    let response = http.get(url, &[("Range", &value), ("Accept-Encoding", "identity")])?;
    match response.status {
        206 => Ok(match response.content_range.as_deref().and_then(parse_content_range) {
            Some((offset, total)) => RangeResponse::Partial { offset, total, data: response.body },
            None => RangeResponse::Refused,
        }),
        200 => Ok(RangeResponse::Whole(response.body)),
        status @ (404 | 410 | 500..) => Err(HttpError::Status { url: redact(url), status }.into()),
        _ => Ok(RangeResponse::Refused),
    }
}

/// `bytes <first>-<last>/<total>` → (first, total). `None` for an unknown total (`*`) or
/// anything malformed.
pub fn parse_content_range(value: &str) -> Option<(u64, u64)> {
    let rest = value.trim().strip_prefix("bytes")?.trim_start();
    let (span, total) = rest.split_once('/')?;
    let (first, last) = span.split_once('-')?;
    let (first, last, total) = (first.trim().parse::<u64>().ok()?, last.trim().parse::<u64>().ok()?, total.trim());
    let total = total.parse::<u64>().ok()?;
    (first <= last && last < total).then_some((first, total))
}

/// Reads `METADATA` from a wheel through `fetch_range`: a suffix request for the tail, then
/// at most one request for a central directory that starts before it and one for a
/// `METADATA` entry outside it. `filename` is for messages.
pub fn metadata_from_ranges<F>(
    fetch_range: F,
    filename: &str,
    wheel: &WheelFilename,
) -> Result<RangeOutcome, MetadataError>
where
    F: FnMut(ByteRange) -> Result<RangeResponse, MetadataError>,
{
    match read_remote(fetch_range, wheel) {
        Ok(bytes) => Ok(RangeOutcome::Metadata(bytes)),
        Err(Stop::Whole(bytes)) => Ok(RangeOutcome::Whole(bytes)),
        Err(Stop::Refused) => Ok(RangeOutcome::Refused),
        Err(Stop::Error(err)) => Err(err),
        Err(Stop::Bad(message)) => Err(MetadataError::Archive { filename: filename.to_string(), message }),
    }
}

/// Why reading through ranges stopped early.
enum Stop {
    Whole(Vec<u8>),
    Refused,
    Error(MetadataError),
    /// The bytes are not a readable zip (message without the filename).
    Bad(String),
}

impl From<MetadataError> for Stop {
    fn from(err: MetadataError) -> Self {
        Self::Error(err)
    }
}

fn read_remote<F>(fetch_range: F, wheel: &WheelFilename) -> Result<Vec<u8>, Stop>
where
    F: FnMut(ByteRange) -> Result<RangeResponse, MetadataError>,
{
    let mut remote = Remote::open(fetch_range)?;
    let directory = remote.central_directory()?;
    let names: Vec<&str> = directory.iter().map(|entry| entry.name.as_str()).collect();
    let entry = &directory[choose_metadata(&names, wheel).map_err(Stop::Bad)?];
    if entry.flags & 1 != 0 {
        return Err(Stop::Bad(format!("{} is encrypted", entry.name)));
    }
    if entry.uncompressed_size > MAX_METADATA_SIZE {
        return Err(Stop::Bad(format!("{} is larger than {MAX_METADATA_SIZE} bytes", entry.name)));
    }

    let header_at = entry.local_header_offset;
    // Header, name, extra (assumed as long as the central copy, plus slack) and data in one go.
    let likely_end = header_at
        .saturating_add(LOCAL_HEADER_LEN + entry.name_len + entry.extra_len + LOCAL_HEADER_SLACK)
        .saturating_add(entry.compressed_size);
    let header = remote.read(header_at, header_at.saturating_add(LOCAL_HEADER_LEN), likely_end)?;
    if u32_at(header, 0) != Some(LOCAL_HEADER_SIGNATURE) {
        return Err(Stop::Bad(format!("no local file header for {} at offset {header_at}", entry.name)));
    }
    let name_len = u64::from(u16_at(header, 26).unwrap_or_default());
    let extra_len = u64::from(u16_at(header, 28).unwrap_or_default());
    let data_at = header_at.saturating_add(LOCAL_HEADER_LEN + name_len + extra_len);
    let data_end = data_at.saturating_add(entry.compressed_size);
    let data = remote.read(data_at, data_end, data_end)?;
    decompress(entry.method, data).map_err(Stop::Bad)
}

/// The parts of a remote file fetched so far, each `(offset, bytes)`, and how to get more.
struct Remote<F> {
    fetch_range: F,
    total: u64,
    chunks: Vec<(u64, Vec<u8>)>,
}

impl<F> Remote<F>
where
    F: FnMut(ByteRange) -> Result<RangeResponse, MetadataError>,
{
    /// Fetches the tail.
    fn open(mut fetch_range: F) -> Result<Self, Stop> {
        match fetch_range(ByteRange::Suffix(TAIL_SIZE))? {
            RangeResponse::Partial { offset, total, data } => {
                if data.is_empty() || offset.checked_add(data.len() as u64) != Some(total) {
                    return Err(Stop::Bad(format!(
                        "the server sent {} bytes at offset {offset} of {total} for the file's end",
                        data.len()
                    )));
                }
                Ok(Self { fetch_range, total, chunks: vec![(offset, data)] })
            }
            RangeResponse::Whole(body) => Err(Stop::Whole(body)),
            RangeResponse::Refused => Err(Stop::Refused),
        }
    }

    /// Bytes `start..end`. When they are not all fetched yet, requests `start..want_end`
    /// (`want_end >= end` lets one request cover what will be read next), cut short where an
    /// already fetched chunk begins.
    fn read(&mut self, start: u64, end: u64, want_end: u64) -> Result<&[u8], Stop> {
        if start > end || end > self.total {
            return Err(Stop::Bad(format!("bytes {start}..{end} are outside the {} byte file", self.total)));
        }
        if self.find(start, end).is_none() {
            self.fetch(start, want_end.clamp(end, self.total))?;
        }
        let index = self.find(start, end).ok_or_else(|| Stop::Bad(format!("bytes {start}..{end} were not sent")))?;
        let (offset, data) = &self.chunks[index];
        Ok(&data[(start - offset) as usize..(end - offset) as usize])
    }

    fn find(&self, start: u64, end: u64) -> Option<usize> {
        self.chunks.iter().position(|(offset, data)| *offset <= start && end <= offset + data.len() as u64)
    }

    /// Requests `start..end`, or only its part before a chunk that covers the rest, and merges.
    fn fetch(&mut self, start: u64, end: u64) -> Result<(), Stop> {
        let next = self.chunks.iter().position(|(offset, data)| {
            start < *offset && *offset < end && end <= offset + data.len() as u64
        });
        let request_end = next.map_or(end, |index| self.chunks[index].0);
        match (self.fetch_range)(ByteRange::Span { start, end: request_end })? {
            RangeResponse::Partial { offset, total, mut data } => {
                if offset != start || total != self.total || (data.len() as u64) < request_end - start {
                    return Err(Stop::Bad(format!(
                        "asked for bytes {start}..{request_end} of {}, the server sent {} bytes at {offset} of {total}",
                        self.total,
                        data.len()
                    )));
                }
                data.truncate((request_end - start) as usize);
                match next {
                    Some(index) => {
                        let (_, rest) = std::mem::replace(&mut self.chunks[index], (start, Vec::new()));
                        data.extend_from_slice(&rest);
                        self.chunks[index].1 = data;
                    }
                    None => self.chunks.push((start, data)),
                }
                Ok(())
            }
            RangeResponse::Whole(body) => Err(Stop::Whole(body)),
            RangeResponse::Refused => Err(Stop::Refused),
        }
    }

    /// Finds the end of central directory record (and its ZIP64 form) and reads the central
    /// directory it points to.
    fn central_directory(&mut self) -> Result<Vec<Entry>, Stop> {
        let tail_start = self.chunks[0].0;
        let mut eocd = self.find_eocd(tail_start)?;
        let search_start = self.total.saturating_sub(MAX_EOCD_SEARCH);
        if eocd.is_none() && search_start < tail_start {
            // A zip comment longer than the tail: look further back once.
            eocd = self.find_eocd(search_start)?;
        }
        let eocd_at = eocd.ok_or_else(|| Stop::Bad("not a zip file (no end of central directory record)".into()))?;
        let record = self.read(eocd_at, eocd_at + EOCD_LEN as u64, eocd_at)?;
        let mut size = u64::from(u32_at(record, 12).unwrap_or_default());
        let mut offset = u64::from(u32_at(record, 16).unwrap_or_default());

        if let Some(locator_at) = eocd_at.checked_sub(ZIP64_LOCATOR_LEN) {
            let locator = self.read(locator_at, eocd_at, eocd_at)?;
            if u32_at(locator, 0) == Some(ZIP64_LOCATOR_SIGNATURE) {
                let record_at = u64_at(locator, 8).unwrap_or_default();
                let end = record_at.saturating_add(ZIP64_EOCD_LEN);
                let record = self.read(record_at, end, end)?;
                if u32_at(record, 0) != Some(ZIP64_EOCD_SIGNATURE) {
                    return Err(Stop::Bad(format!("no ZIP64 end of central directory record at offset {record_at}")));
                }
                size = u64_at(record, 40).unwrap_or_default();
                offset = u64_at(record, 48).unwrap_or_default();
            }
        }

        if size > MAX_CENTRAL_DIRECTORY {
            return Err(Stop::Bad(format!("central directory of {size} bytes is too large")));
        }
        let end = offset.saturating_add(size);
        let directory = self.read(offset, end, end)?;
        parse_central_directory(directory).map_err(Stop::Bad)
    }

    /// The position of the end of central directory record within `from..total`: the last
    /// signature whose comment length reaches exactly the end of the file.
    fn find_eocd(&mut self, from: u64) -> Result<Option<u64>, Stop> {
        let total = self.total;
        let bytes = self.read(from, total, total)?;
        Ok(find_eocd(bytes).map(|at| from + at as u64))
    }
}

/// The EOCD's offset within `bytes`, which end where the file ends.
fn find_eocd(bytes: &[u8]) -> Option<usize> {
    let last = bytes.len().checked_sub(EOCD_LEN)?;
    (0..=last).rev().find(|&at| {
        u32_at(bytes, at) == Some(EOCD_SIGNATURE)
            && u16_at(bytes, at + 20).is_some_and(|comment| at + EOCD_LEN + usize::from(comment) == bytes.len())
    })
}

/// A central directory entry: what is needed to find and read a member.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Entry {
    name: String,
    flags: u16,
    method: u16,
    compressed_size: u64,
    uncompressed_size: u64,
    local_header_offset: u64,
    name_len: u64,
    extra_len: u64,
}

/// Parses central directory entries until the bytes end or the next signature is missing.
fn parse_central_directory(bytes: &[u8]) -> Result<Vec<Entry>, String> {
    let mut entries = Vec::new();
    let mut at = 0;
    while u32_at(bytes, at) == Some(CENTRAL_HEADER_SIGNATURE) {
        let truncated = || format!("truncated central directory entry at offset {at}");
        let fixed = bytes.get(at..at + CENTRAL_HEADER_LEN).ok_or_else(truncated)?;
        let field16 = |offset| u16_at(fixed, offset).unwrap_or_default();
        let field32 = |offset| u32_at(fixed, offset).unwrap_or_default();
        let (name_len, extra_len, comment_len) =
            (usize::from(field16(28)), usize::from(field16(30)), usize::from(field16(32)));
        let name_at = at + CENTRAL_HEADER_LEN;
        let name = bytes.get(name_at..name_at + name_len).ok_or_else(truncated)?;
        let extra = bytes.get(name_at + name_len..name_at + name_len + extra_len).ok_or_else(truncated)?;

        let mut entry = Entry {
            name: String::from_utf8_lossy(name).into_owned(),
            flags: field16(8),
            method: field16(10),
            compressed_size: u64::from(field32(20)),
            uncompressed_size: u64::from(field32(24)),
            local_header_offset: u64::from(field32(42)),
            name_len: name_len as u64,
            extra_len: extra_len as u64,
        };
        apply_zip64_extra(&mut entry, extra);
        entries.push(entry);
        at = name_at + name_len + extra_len + comment_len;
    }
    if entries.is_empty() {
        return Err("no central directory where the end record points".into());
    }
    Ok(entries)
}

/// Replaces saturated 32-bit fields by their values in the ZIP64 extra field (id 1), which
/// holds, in this order, only the fields that are saturated.
fn apply_zip64_extra(entry: &mut Entry, mut extra: &[u8]) {
    while let (Some(id), Some(len)) = (u16_at(extra, 0), u16_at(extra, 2)) {
        let Some(data) = extra.get(4..4 + usize::from(len)) else { return };
        if id == 1 {
            let mut values = data.chunks_exact(8).filter_map(|chunk| u64_at(chunk, 0));
            for field in [&mut entry.uncompressed_size, &mut entry.compressed_size, &mut entry.local_header_offset] {
                if *field == u64::from(u32::MAX) {
                    let Some(value) = values.next() else { return };
                    *field = value;
                }
            }
            return;
        }
        extra = &extra[4 + usize::from(len)..];
    }
}

/// Index in `names` of the wheel's `METADATA`: the only top-level `*.dist-info/METADATA`, or,
/// when there are several, the one whose directory names the wheel's project and version.
fn choose_metadata(names: &[&str], wheel: &WheelFilename) -> Result<usize, String> {
    let candidates: Vec<(usize, &str)> = names
        .iter()
        .enumerate()
        .filter_map(|(index, name)| {
            let (dir, file) = name.split_once('/')?;
            (file == "METADATA" && dir.ends_with(".dist-info")).then_some((index, dir))
        })
        .collect();
    match candidates.as_slice() {
        [] => Err("no *.dist-info/METADATA in the wheel".into()),
        [(index, _)] => Ok(*index),
        several => several.iter().find(|(_, dir)| dist_info_matches(dir, wheel)).map(|(index, _)| *index).ok_or_else(
            || {
                let dirs: Vec<&str> = several.iter().map(|(_, dir)| *dir).collect();
                format!("several .dist-info directories ({}) and none is {}", dirs.join(", "), wheel_label(wheel))
            },
        ),
    }
}

fn dist_info_matches(dir: &str, wheel: &WheelFilename) -> bool {
    dir.strip_suffix(".dist-info").and_then(|stem| stem.split_once('-')).is_some_and(|(name, version)| {
        name.parse::<pep508_rs::PackageName>().is_ok_and(|name| name == wheel.name)
            && version.parse::<pep508_rs::pep440_rs::Version>().is_ok_and(|version| version == wheel.version)
    })
}

fn wheel_label(wheel: &WheelFilename) -> String {
    format!("{}-{}", wheel.name.as_dist_info_name(), wheel.version)
}

/// Stored (0) or deflated (8) member data, at most [`MAX_METADATA_SIZE`] bytes once inflated.
fn decompress(method: u16, data: &[u8]) -> Result<Vec<u8>, String> {
    let inflated = match method {
        0 => read_capped(data, MAX_METADATA_SIZE),
        8 => read_capped(flate2::read::DeflateDecoder::new(data), MAX_METADATA_SIZE),
        other => return Err(format!("METADATA uses compression method {other}; only stored and deflate are supported")),
    };
    inflated.map_err(|err| format!("METADATA: {err}"))
}

/// `METADATA` from a whole wheel, read with the `zip` crate.
pub fn metadata_from_wheel(bytes: &[u8], filename: &str, wheel: &WheelFilename) -> Result<Vec<u8>, MetadataError> {
    let bad = |message: String| MetadataError::Archive { filename: filename.to_string(), message };
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|err| bad(format!("not a zip file: {err}")))?;
    let names: Vec<String> = archive.file_names().map(str::to_string).collect();
    let name_refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let name = &names[choose_metadata(&name_refs, wheel).map_err(bad)?];
    let member = archive.by_name(name).map_err(|err| bad(format!("{name}: {err}")))?;
    if member.size() > MAX_METADATA_SIZE {
        return Err(bad(format!("{name} is larger than {MAX_METADATA_SIZE} bytes")));
    }
    read_capped(member, MAX_METADATA_SIZE).map_err(|err| bad(format!("{name}: {err}")))
}

fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(bytes.get(at..at.checked_add(2)?)?.try_into().ok()?))
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at.checked_add(4)?)?.try_into().ok()?))
}

fn u64_at(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(bytes.get(at..at.checked_add(8)?)?.try_into().ok()?))
}
