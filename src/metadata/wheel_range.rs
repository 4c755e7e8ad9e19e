//! HTTP range requests into a remote wheel: the tail holds the zip central directory and,
//! usually, the `*.dist-info/METADATA` entry too; one suffix request covers both. Zip sdists
//! are read the same way ([`fetch_zip`], [`RemoteZip`]).
//!
//! The zip logic ([`read_ranges`]) sees the server only through a `fetch_range`
//! closure, so it is tested against in-memory wheels. When the server will not serve ranges,
//! the whole wheel is downloaded to a temp file and read with the `zip` crate
//! ([`metadata_from_wheel`]).

use std::fs::File;
use std::io::{Read, Seek};

use reqwest::Url;

use crate::dist::WheelFilename;
use crate::index::IndexClient;
use crate::index::http::{HttpClient, HttpError, RequestKind, spool};
use crate::metadata::{MAX_DOWNLOAD_SIZE, MAX_METADATA_SIZE, MetadataError, download, read_capped};

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
    /// How many bytes a server may send for it.
    fn len(self) -> u64 {
        match self {
            Self::Suffix(n) => n,
            Self::Span { start, end } => end.saturating_sub(start),
        }
    }

    /// The `Range` header value.
    pub fn header_value(self) -> String {
        match self {
            Self::Suffix(n) => format!("bytes=-{n}"),
            Self::Span { start, end } => format!("bytes={start}-{}", end.saturating_sub(1)),
        }
    }
}

/// What a server sent for a range request; `W` holds a whole file (a temp file when real).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RangeResponse<W = Vec<u8>> {
    /// 206: `data` starts at `offset` of a file of `total` bytes.
    Partial { offset: u64, total: u64, data: Vec<u8> },
    /// 200: the server ignored the range and sent the whole file.
    Whole(W),
    /// 416, or any other answer that is not a usable range.
    Refused,
}

/// How reading a zip through range requests ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RangeOutcome<W = Vec<u8>, T = Vec<u8>> {
    /// What was read: the raw `METADATA` bytes of a wheel.
    Metadata(T),
    /// The server sent the whole wheel instead (read it with [`metadata_from_wheel`]).
    Whole(W),
    /// The server does not serve ranges.
    Refused,
}

/// The raw `METADATA` of a remote wheel: range requests unless the host is known to refuse
/// them, else (or when it turns out to refuse them) the whole wheel.
pub fn fetch(client: &IndexClient, url: &Url, filename: &str, wheel: &WheelFilename) -> Result<Vec<u8>, MetadataError> {
    fetch_zip(
        client,
        url,
        filename,
        |zip| wheel_metadata(zip, wheel),
        |file| metadata_from_wheel(file, filename, wheel),
    )
}

/// What `from_ranges` reads of a remote zip through range requests, unless the host is known
/// to refuse them; else (or when it turns out to refuse them) what `from_whole` reads of the
/// whole file, downloaded to a temp file.
pub fn fetch_zip<T>(
    client: &IndexClient,
    url: &Url,
    filename: &str,
    from_ranges: impl FnOnce(&mut RemoteZip<'_, File>) -> Result<T, Stop<File>>,
    from_whole: impl FnOnce(File) -> Result<T, MetadataError>,
) -> Result<T, MetadataError> {
    let http = client.http();
    let mut body = None;
    if !client.range_refused(url) {
        match read_ranges(|range| request_range(http, url, range), filename, from_ranges)? {
            RangeOutcome::Metadata(found) => return Ok(found),
            RangeOutcome::Whole(file) => {
                client.refuse_range(url);
                body = Some(file);
            }
            RangeOutcome::Refused => client.refuse_range(url),
        }
    }
    let body = match body {
        Some(body) => body,
        None => download(http, url)?,
    };
    from_whole(body)
}

/// One range request, classified. Missing files and server errors are errors, not refusals:
/// downloading the whole file would fail the same way. A 206 may hold what was asked for and
/// no more; a 200 is the whole wheel, kept in a temp file.
fn request_range(http: &HttpClient, url: &Url, range: ByteRange) -> Result<RangeResponse<File>, MetadataError> {
    let value = range.header_value();
    let response = http.get_with(
        RequestKind::WheelRange,
        url,
        &[("Range", &value), ("Accept-Encoding", "identity")],
        |status| if status == 200 { MAX_DOWNLOAD_SIZE } else { range.len() },
        |head, body| match head.status {
            200 => spool(body).map(Received::Whole),
            206 => {
                let mut data = Vec::new();
                body.read_to_end(&mut data)?;
                Ok(Received::Part(data))
            }
            _ => Ok(Received::Nothing),
        },
    )?;
    match (response.status, response.body) {
        (206, Received::Part(data)) => Ok(match response.content_range.as_deref().and_then(parse_content_range) {
            Some((offset, total)) => RangeResponse::Partial { offset, total, data },
            None => RangeResponse::Refused,
        }),
        (200, Received::Whole(file)) => Ok(RangeResponse::Whole(file)),
        (status @ (404 | 410 | 500..), _) => Err(HttpError::unexpected_status(url, status).into()),
        _ => Ok(RangeResponse::Refused),
    }
}

/// A range response's body as read: a 206's bytes, a 200's temp file, nothing otherwise.
enum Received {
    Part(Vec<u8>),
    Whole(File),
    Nothing,
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

/// Opens a remote zip through `fetch_range` (its tail and central directory: a suffix request,
/// then at most one request for a central directory that starts before it) and lets `read`
/// take what it needs from it (one more request for a member outside the tail). `filename` is
/// for messages.
pub fn read_ranges<F, W, T>(
    mut fetch_range: F,
    filename: &str,
    read: impl FnOnce(&mut RemoteZip<'_, W>) -> Result<T, Stop<W>>,
) -> Result<RangeOutcome<W, T>, MetadataError>
where
    F: FnMut(ByteRange) -> Result<RangeResponse<W>, MetadataError>,
{
    match RemoteZip::open(&mut fetch_range).and_then(|mut zip| read(&mut zip)) {
        Ok(found) => Ok(RangeOutcome::Metadata(found)),
        Err(Stop::Whole(bytes)) => Ok(RangeOutcome::Whole(bytes)),
        Err(Stop::Refused) => Ok(RangeOutcome::Refused),
        Err(Stop::Error(err)) => Err(err),
        Err(Stop::Bad(message)) => Err(MetadataError::Archive { filename: filename.to_string(), message }),
    }
}

/// Why reading through ranges stopped early.
pub enum Stop<W> {
    Whole(W),
    Refused,
    Error(MetadataError),
    /// The bytes are not a readable zip (message without the filename).
    Bad(String),
}

impl<W> From<MetadataError> for Stop<W> {
    fn from(err: MetadataError) -> Self {
        Self::Error(err)
    }
}

fn wheel_metadata<W>(zip: &mut RemoteZip<'_, W>, wheel: &WheelFilename) -> Result<Vec<u8>, Stop<W>> {
    let index = choose_metadata(&zip.names(), wheel).map_err(Stop::Bad)?;
    zip.read(index)
}

/// A zip read through range requests: its central directory, and members on demand.
pub struct RemoteZip<'a, W> {
    remote: Remote<&'a mut dyn FnMut(ByteRange) -> Result<RangeResponse<W>, MetadataError>>,
    directory: Vec<Entry>,
}

impl<'a, W> RemoteZip<'a, W> {
    fn open(
        fetch_range: &'a mut dyn FnMut(ByteRange) -> Result<RangeResponse<W>, MetadataError>,
    ) -> Result<Self, Stop<W>> {
        let mut remote = Remote::open(fetch_range)?;
        let directory = remote.central_directory()?;
        Ok(Self { remote, directory })
    }

    /// The member names, in central directory order.
    pub fn names(&self) -> Vec<&str> {
        self.directory.iter().map(|entry| entry.name.as_str()).collect()
    }

    /// The member at `index` of [`names`](Self::names), at most [`MAX_METADATA_SIZE`] bytes.
    pub fn read(&mut self, index: usize) -> Result<Vec<u8>, Stop<W>> {
        let entry = &self.directory[index];
        if entry.flags & 1 != 0 {
            return Err(Stop::Bad(format!("{} is encrypted", entry.name)));
        }
        // Real metadata is kilobytes; deflate never grows it much, so the compressed size (what
        // is fetched) is held to the same cap.
        if entry.uncompressed_size.max(entry.compressed_size) > MAX_METADATA_SIZE {
            return Err(Stop::Bad(format!("{} is larger than {MAX_METADATA_SIZE} bytes", entry.name)));
        }

        let header_at = entry.local_header_offset;
        // Header, name, extra (assumed as long as the central copy, plus slack) and data in one go.
        let likely_end = header_at
            .saturating_add(LOCAL_HEADER_LEN + entry.name_len + entry.extra_len + LOCAL_HEADER_SLACK)
            .saturating_add(entry.compressed_size);
        let header = self.remote.read(header_at, header_at.saturating_add(LOCAL_HEADER_LEN), likely_end)?;
        if u32_at(header, 0) != Some(LOCAL_HEADER_SIGNATURE) {
            return Err(Stop::Bad(format!("no local file header for {} at offset {header_at}", entry.name)));
        }
        let name_len = u64::from(u16_at(header, 26).unwrap_or_default());
        let extra_len = u64::from(u16_at(header, 28).unwrap_or_default());
        let data_at = header_at.saturating_add(LOCAL_HEADER_LEN + name_len + extra_len);
        let data_end = data_at.saturating_add(entry.compressed_size);
        let data = self.remote.read(data_at, data_end, data_end)?;
        decompress(&entry.name, entry.method, data).map_err(Stop::Bad)
    }
}

/// The parts of a remote file fetched so far, each `(offset, bytes)`, and how to get more.
struct Remote<F> {
    fetch_range: F,
    total: u64,
    chunks: Vec<(u64, Vec<u8>)>,
}

impl<F, W> Remote<F>
where
    F: FnMut(ByteRange) -> Result<RangeResponse<W>, MetadataError>,
{
    /// Fetches the tail.
    fn open(mut fetch_range: F) -> Result<Self, Stop<W>> {
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
    fn read(&mut self, start: u64, end: u64, want_end: u64) -> Result<&[u8], Stop<W>> {
        if start > end || end > self.total {
            return Err(Stop::Bad(format!("bytes {start}..{end} are outside the {} byte file", self.total)));
        }
        if start == end {
            return Ok(&[]);
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
    fn fetch(&mut self, start: u64, end: u64) -> Result<(), Stop<W>> {
        let next = self
            .chunks
            .iter()
            .position(|(offset, data)| start < *offset && *offset < end && end <= offset + data.len() as u64);
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
    fn central_directory(&mut self) -> Result<Vec<Entry>, Stop<W>> {
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
    fn find_eocd(&mut self, from: u64) -> Result<Option<u64>, Stop<W>> {
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
        several => {
            several.iter().find(|(_, dir)| dist_info_matches(dir, wheel)).map(|(index, _)| *index).ok_or_else(|| {
                let dirs: Vec<&str> = several.iter().map(|(_, dir)| *dir).collect();
                format!("several .dist-info directories ({}) and none is {}", dirs.join(", "), wheel_label(wheel))
            })
        }
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

/// Stored (0) or deflated (8) data of member `name`, at most [`MAX_METADATA_SIZE`] bytes once
/// inflated.
fn decompress(name: &str, method: u16, data: &[u8]) -> Result<Vec<u8>, String> {
    let inflated = match method {
        0 => read_capped(data, MAX_METADATA_SIZE),
        8 => read_capped(flate2::read::DeflateDecoder::new(data), MAX_METADATA_SIZE),
        other => {
            return Err(format!("{name} uses compression method {other}; only stored and deflate are supported"));
        }
    };
    inflated.map_err(|err| format!("{name}: {err}"))
}

/// `METADATA` from a whole wheel (a temp file, or bytes in a `Cursor`), read with the `zip`
/// crate.
pub fn metadata_from_wheel(
    wheel_file: impl Read + Seek,
    filename: &str,
    wheel: &WheelFilename,
) -> Result<Vec<u8>, MetadataError> {
    let bad = |message: String| MetadataError::Archive { filename: filename.to_string(), message };
    let mut archive = zip::ZipArchive::new(wheel_file).map_err(|err| bad(format!("not a zip file: {err}")))?;
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

#[cfg(test)]
mod tests {
    use std::io::{Cursor, Write};
    use std::str::FromStr;

    use pep508_rs::PackageName;
    use pep508_rs::pep440_rs::Version;
    use proptest::prelude::*;
    use zip::CompressionMethod::{Deflated, Stored};
    use zip::write::SimpleFileOptions;

    use super::*;

    /// `METADATA` of a wheel read through `fetch_range`, as [`fetch`] reads it.
    fn metadata_from_ranges<F, W>(
        fetch_range: F,
        filename: &str,
        wheel: &WheelFilename,
    ) -> Result<RangeOutcome<W>, MetadataError>
    where
        F: FnMut(ByteRange) -> Result<RangeResponse<W>, MetadataError>,
    {
        read_ranges(fetch_range, filename, |zip| wheel_metadata(zip, wheel))
    }

    const METADATA: &[u8] = b"Metadata-Version: 2.1\nName: demo-pkg\nVersion: 1.0\nRequires-Dist: idna\n";

    fn demo() -> WheelFilename {
        WheelFilename {
            name: PackageName::from_str("demo-pkg").unwrap(),
            version: Version::from_str("1.0").unwrap(),
            build: None,
            python_tags: vec!["py3".into()],
            abi_tags: vec!["none".into()],
            platform_tags: vec!["any".into()],
        }
    }

    /// Bytes that do not compress, so sizes in the tests are what they say.
    fn noise(len: usize) -> Vec<u8> {
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect()
    }

    fn build_zip(members: &[(&str, &[u8], zip::CompressionMethod)], comment: &str) -> Vec<u8> {
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, data, method) in members {
            writer.start_file(*name, SimpleFileOptions::default().compression_method(*method)).unwrap();
            writer.write_all(data).unwrap();
        }
        writer.set_comment(comment);
        writer.finish().unwrap().into_inner()
    }

    /// A wheel with a module, then the dist-info (METADATA, then RECORD), as build tools write it.
    fn small_wheel(method: zip::CompressionMethod) -> Vec<u8> {
        build_zip(
            &[
                ("demo_pkg/__init__.py", b"print('hi')\n", method),
                ("demo_pkg-1.0.dist-info/METADATA", METADATA, method),
                ("demo_pkg-1.0.dist-info/RECORD", b"demo_pkg/__init__.py,,\n", method),
            ],
            "",
        )
    }

    /// Serves ranges of `file` as a well-behaved server would, recording each request.
    struct FakeServer {
        file: Vec<u8>,
        requests: Vec<ByteRange>,
    }

    impl FakeServer {
        fn new(file: Vec<u8>) -> Self {
            Self { file, requests: Vec::new() }
        }

        fn serve(&mut self, range: ByteRange) -> Result<RangeResponse, MetadataError> {
            self.requests.push(range);
            let total = self.file.len() as u64;
            let (start, end) = match range {
                ByteRange::Suffix(n) => (total.saturating_sub(n), total),
                ByteRange::Span { start, end } => (start.min(total), end.min(total)),
            };
            Ok(RangeResponse::Partial { offset: start, total, data: self.file[start as usize..end as usize].to_vec() })
        }

        fn read(&mut self) -> Result<RangeOutcome, MetadataError> {
            metadata_from_ranges(|range| self.serve(range), "demo_pkg-1.0-py3-none-any.whl", &demo())
        }
    }

    fn read_metadata(file: Vec<u8>) -> (Vec<u8>, Vec<ByteRange>) {
        let mut server = FakeServer::new(file);
        match server.read() {
            Ok(RangeOutcome::Metadata(bytes)) => (bytes, server.requests),
            other => panic!("expected METADATA, got {other:?}"),
        }
    }

    fn archive_error(file: Vec<u8>) -> String {
        match FakeServer::new(file).read() {
            Err(err @ MetadataError::Archive { .. }) => err.to_string(),
            other => panic!("expected an archive error, got {other:?}"),
        }
    }

    #[test]
    fn small_wheel_takes_one_suffix_request() {
        for method in [Stored, Deflated] {
            let (metadata, requests) = read_metadata(small_wheel(method));
            assert_eq!(metadata, METADATA);
            assert_eq!(requests, [ByteRange::Suffix(TAIL_SIZE)]);
        }
    }

    #[test]
    fn empty_metadata_is_read_as_empty() {
        let wheel = build_zip(&[("demo_pkg-1.0.dist-info/METADATA", b"", Stored)], "");
        assert_eq!(read_metadata(wheel), (Vec::new(), vec![ByteRange::Suffix(TAIL_SIZE)]));
    }

    #[test]
    fn metadata_far_from_the_end_takes_a_second_request_for_header_and_data() {
        let big = noise(200 * 1024);
        let wheel = build_zip(
            &[
                ("demo_pkg-1.0.dist-info/METADATA", METADATA, Deflated),
                ("demo_pkg/data.bin", &big, Stored),
                ("demo_pkg-1.0.dist-info/RECORD", b"x", Stored),
            ],
            "",
        );
        let (metadata, requests) = read_metadata(wheel);
        assert_eq!(metadata, METADATA);
        assert_eq!(requests.len(), 2, "{requests:?}");
        assert!(matches!(requests[1], ByteRange::Span { start: 0, .. }), "{requests:?}");
    }

    #[test]
    fn metadata_larger_than_the_tail_is_completed_in_one_more_request() {
        let mut long = METADATA.to_vec();
        for line in 0..4000 {
            long.extend_from_slice(format!("Classifier: Topic :: Line {line}\n").as_bytes());
        }
        assert!(long.len() as u64 > 2 * TAIL_SIZE);
        let wheel =
            build_zip(&[("demo_pkg/__init__.py", b"", Stored), ("demo_pkg-1.0.dist-info/METADATA", &long, Stored)], "");
        let (metadata, requests) = read_metadata(wheel);
        assert_eq!(metadata, long);
        assert_eq!(requests.len(), 2, "{requests:?}");
    }

    #[test]
    fn central_directory_larger_than_the_tail_is_completed_with_the_missing_span() {
        let names: Vec<String> =
            (0..800).map(|i| format!("demo_pkg/a_rather_long_module_name_number_{i:04}.py")).collect();
        let mut members: Vec<(&str, &[u8], zip::CompressionMethod)> =
            names.iter().map(|name| (name.as_str(), &b""[..], Stored)).collect();
        members.push(("demo_pkg-1.0.dist-info/METADATA", METADATA, Deflated));
        let wheel = build_zip(&members, "");
        let total = wheel.len() as u64;
        let (metadata, requests) = read_metadata(wheel);
        assert_eq!(metadata, METADATA);
        // The second request ends exactly where the tail begins.
        let ByteRange::Span { end, .. } = requests[1] else { panic!("{requests:?}") };
        assert_eq!(end, total - TAIL_SIZE);
        assert!(requests.len() <= 3, "{requests:?}");
    }

    #[test]
    fn archive_comment_is_skipped_short_or_longer_than_the_tail() {
        let short = "c".repeat(1000);
        let mut wheel = build_zip(&[("demo_pkg-1.0.dist-info/METADATA", METADATA, Stored)], &short);
        let (metadata, requests) = read_metadata(wheel);
        assert_eq!((metadata.as_slice(), requests.len()), (METADATA, 1));

        // A comment that itself contains an end-record signature must not be taken for one.
        let mut long = "d".repeat(60_000);
        long.insert_str(100, "PK\u{5}\u{6}");
        wheel = build_zip(&[("demo_pkg-1.0.dist-info/METADATA", METADATA, Stored)], &long);
        let (metadata, _) = read_metadata(wheel);
        assert_eq!(metadata, METADATA);
    }

    /// Rewrites a plain zip's end record into the ZIP64 form (record + locator + saturated EOCD).
    fn to_zip64(zip: Vec<u8>) -> Vec<u8> {
        let eocd_at = find_eocd(&zip).unwrap();
        let eocd = &zip[eocd_at..];
        let cd_size = u64::from(u32_at(eocd, 12).unwrap());
        let cd_offset = u64::from(u32_at(eocd, 16).unwrap());
        let entries = u64::from(u16_at(eocd, 10).unwrap());
        let mut out = zip[..eocd_at].to_vec();
        let record_at = out.len() as u64;
        out.extend_from_slice(&ZIP64_EOCD_SIGNATURE.to_le_bytes());
        out.extend_from_slice(&(ZIP64_EOCD_LEN - 12).to_le_bytes());
        out.extend_from_slice(&[45, 0, 45, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        for value in [entries, entries, cd_size, cd_offset] {
            out.extend_from_slice(&value.to_le_bytes());
        }
        out.extend_from_slice(&ZIP64_LOCATOR_SIGNATURE.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&record_at.to_le_bytes());
        out.extend_from_slice(&1u32.to_le_bytes());
        out.extend_from_slice(&EOCD_SIGNATURE.to_le_bytes());
        out.extend_from_slice(&[0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);
        out.extend_from_slice(&[0xff; 8]);
        out.extend_from_slice(&0u16.to_le_bytes());
        out
    }

    #[test]
    fn zip64_end_records_are_followed() {
        let wheel = to_zip64(small_wheel(Deflated));
        // The rewritten file is a valid zip: the zip crate agrees.
        assert_eq!(metadata_from_wheel(Cursor::new(&wheel), "w", &demo()).unwrap(), METADATA);
        let (metadata, requests) = read_metadata(wheel);
        assert_eq!((metadata.as_slice(), requests.len()), (METADATA, 1));
    }

    #[test]
    fn several_dist_info_directories_prefer_the_wheel_s_own() {
        let other = b"Metadata-Version: 2.1\nName: vendored\nVersion: 9\n";
        let wheel = build_zip(
            &[
                ("vendored-9.dist-info/METADATA", other, Stored),
                ("Demo.Pkg-1.0.0.dist-info/METADATA", METADATA, Stored),
            ],
            "",
        );
        assert_eq!(read_metadata(wheel.clone()).0, METADATA);
        assert_eq!(metadata_from_wheel(Cursor::new(&wheel), "w", &demo()).unwrap(), METADATA);

        let ambiguous =
            build_zip(&[("a-1.dist-info/METADATA", other, Stored), ("b-1.dist-info/METADATA", other, Stored)], "");
        assert!(archive_error(ambiguous).contains("several .dist-info directories (a-1.dist-info, b-1.dist-info)"));
    }

    #[test]
    fn nested_or_missing_metadata_is_a_clean_error() {
        let wheel = build_zip(&[("demo_pkg/vendor/x-1.dist-info/METADATA", METADATA, Stored)], "");
        assert!(archive_error(wheel.clone()).contains("no *.dist-info/METADATA"));
        assert!(
            metadata_from_wheel(Cursor::new(&wheel), "w", &demo())
                .unwrap_err()
                .to_string()
                .contains("no *.dist-info/METADATA")
        );
    }

    #[test]
    fn garbage_is_a_clean_error() {
        let message = archive_error(noise(100_000));
        assert!(message.starts_with("demo_pkg-1.0-py3-none-any.whl: not a zip file"), "{message}");
        assert!(archive_error(Vec::new()).contains("for the file's end"));
        assert!(
            metadata_from_wheel(Cursor::new(&noise(1000)), "w.whl", &demo())
                .unwrap_err()
                .to_string()
                .starts_with("w.whl: ")
        );
    }

    #[test]
    fn zip_bombs_are_refused() {
        let bomb = vec![b'a'; (MAX_METADATA_SIZE + 1) as usize];
        let wheel = build_zip(&[("demo_pkg-1.0.dist-info/METADATA", &bomb, Deflated)], "");
        assert!(wheel.len() < 1024 * 1024);
        assert!(archive_error(wheel.clone()).contains("larger than"));
        assert!(
            metadata_from_wheel(Cursor::new(&wheel), "w", &demo()).unwrap_err().to_string().contains("larger than")
        );
        // A central directory that understates the size does not help: inflation is capped too.
        let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(&bomb).unwrap();
        assert!(decompress("METADATA", 8, &encoder.finish().unwrap()).unwrap_err().contains("larger than"));
    }

    #[test]
    fn zip64_extra_fields_replace_saturated_sizes_and_offsets() {
        let mut entry = Entry {
            name: "x".into(),
            flags: 0,
            method: 0,
            compressed_size: 10,
            uncompressed_size: u64::from(u32::MAX),
            local_header_offset: u64::from(u32::MAX),
            name_len: 1,
            extra_len: 24,
        };
        let mut extra = vec![0x0a, 0, 0, 0]; // an empty unrelated field first
        extra.extend_from_slice(&[1, 0, 16, 0]);
        extra.extend_from_slice(&(5_000_000_000u64).to_le_bytes());
        extra.extend_from_slice(&(6_000_000_000u64).to_le_bytes());
        apply_zip64_extra(&mut entry, &extra);
        assert_eq!(
            (entry.uncompressed_size, entry.compressed_size, entry.local_header_offset),
            (5_000_000_000, 10, 6_000_000_000)
        );
    }

    #[test]
    fn servers_that_ignore_or_refuse_ranges_are_reported() {
        let wheel = small_wheel(Stored);
        let outcome = metadata_from_ranges(|_| Ok(RangeResponse::Whole(wheel.clone())), "w", &demo()).unwrap();
        assert_eq!(outcome, RangeOutcome::Whole(wheel.clone()));
        let outcome = metadata_from_ranges(|_| Ok(RangeResponse::<Vec<u8>>::Refused), "w", &demo()).unwrap();
        assert_eq!(outcome, RangeOutcome::Refused);

        // A server that honours the suffix but then sends everything: its body is the wheel.
        let mut far = FakeServer::new(build_zip(
            &[("demo_pkg-1.0.dist-info/METADATA", METADATA, Stored), ("big", &noise(100_000), Stored)],
            "",
        ));
        let whole = far.file.clone();
        let outcome = metadata_from_ranges(
            |range| match range {
                ByteRange::Suffix(_) => far.serve(range),
                ByteRange::Span { .. } => Ok(RangeResponse::Whole(whole.clone())),
            },
            "w",
            &demo(),
        )
        .unwrap();
        assert_eq!(outcome, RangeOutcome::Whole(whole));
    }

    #[test]
    fn a_server_sending_the_wrong_span_is_an_error() {
        let wheel =
            build_zip(&[("demo_pkg-1.0.dist-info/METADATA", METADATA, Stored), ("big", &noise(100_000), Stored)], "");
        let mut server = FakeServer::new(wheel);
        let result = metadata_from_ranges(
            |range| {
                let response = server.serve(range)?;
                Ok(match (range, response) {
                    (ByteRange::Span { .. }, RangeResponse::Partial { offset, total, data }) => {
                        RangeResponse::Partial { offset: offset + 1, total, data }
                    }
                    (_, response) => response,
                })
            },
            "w",
            &demo(),
        );
        assert!(result.unwrap_err().to_string().contains("the server sent"));
    }

    #[test]
    fn content_range_gives_offset_and_total() {
        assert_eq!(parse_content_range("bytes 100-199/1000"), Some((100, 1000)));
        assert_eq!(parse_content_range(" bytes 0-0/1 "), Some((0, 1)));
        assert_eq!(parse_content_range("bytes 0-99/*"), None);
        assert_eq!(parse_content_range("bytes 100-99/1000"), None);
        assert_eq!(parse_content_range("bytes 0-1000/1000"), None);
        assert_eq!(parse_content_range("items 0-1/2"), None);
    }

    #[test]
    fn range_header_values() {
        assert_eq!(ByteRange::Suffix(32768).header_value(), "bytes=-32768");
        assert_eq!(ByteRange::Span { start: 10, end: 20 }.header_value(), "bytes=10-19");
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(file in proptest::collection::vec(any::<u8>(), 0..3000)) {
            let _ = FakeServer::new(file).read();
        }

        #[test]
        fn corrupted_wheels_never_panic(
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        ) {
            let mut file = small_wheel(Deflated);
            for (index, byte) in edits {
                let at = index.index(file.len());
                file[at] = byte;
            }
            let _ = FakeServer::new(file.clone()).read();
            let _ = metadata_from_wheel(Cursor::new(&file), "w", &demo());
        }
    }
}
