//! The on-disk cache. Layout (stable: the fixture recorder reads it):
//!
//! - `pages/<index-key>/<normalised-name>.page`: the page with when it was fetched and its
//!   `max-age`, in [`page_file`]'s line format; expires after `max_age` (from `Cache-Control`)
//!   or a default TTL.
//!   `<index-key>`: the first 16 hex digits of the sha256 of the index URL without credentials.
//! - `metadata/<sha256 of the metadata>.metadata`: a PEP 658 metadata file whose bytes matched
//!   the sha256 the page advertised for it; read only while its bytes still hash to its name,
//!   so an index can store nothing there but the bytes it was checked against.
//! - `metadata/from-file/<sha256 of the file URL and its claimed sha256>.metadata`: metadata
//!   read from the distribution itself (range requests, whole download), which nothing but
//!   the listing index vouches for: found only for the same URL with the same claimed sha256.
//!
//!   Both are a `sha256:<hex of the rest>` line, then the raw core metadata, kept forever
//!   (files are immutable).
//! - `provenance/<sha256 of the distribution file>.json`: the file's PEP 740 provenance object,
//!   after the same integrity line; kept forever (its attestations are made when the file is
//!   uploaded, and they sign its sha256), but not read with `--refresh`, since an index may
//!   add attestations later.
//! - `wheels/<sha256 of the wheel>.json`: what `verify --installed` read from a wheel whose
//!   bytes matched that sha256 (each member's sha256 and size, its entry points), after the
//!   same integrity line; kept forever, so a second run downloads and unpacks nothing.
//! - `computed/<sha256 of the file URL and its size>.hashes`: digests hashlock computed from a
//!   download (`--compute-missing-hashes`), after the same integrity line: `size`, `sha256`,
//!   `md5` and `sha1` lines. Found only for the same URL (without credentials) and the same
//!   published size; the weak hashes a page publishes are checked against it on every use.
//! - `pip-default-index`: pip's built-in index URL as `pip install --help` showed it, after
//!   the fingerprint of the `pip` on PATH it was asked of (see `index::config`); written only
//!   in the user's cache dir, and only when pip's own files did not tell the URL.
//!
//! Writes go to a temp file in the same directory, then rename; a corrupt entry (a malformed or
//! truncated page, a failed integrity line) is removed and reads as a miss. No lock is taken:
//! concurrent runs see an entry whole or not at all, and the last rename of one wins. Temp
//! files a killed run left are never read, and removed once an hour old.

use std::ffi::OsString;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use pep508_rs::PackageName;
use reqwest::Url;
use sha2::{Digest, Sha256};

use crate::dist::{CoreMetadata, DistFile, is_sha256_hex, lower_hex};
use crate::index::http::without_credentials;
use crate::index::page_file::{self, CachedPage, DamageLog};

/// How long a project page stays fresh when the index sends no `Cache-Control`.
pub const DEFAULT_PAGE_TTL: Duration = Duration::from_secs(10 * 60);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Freshness {
    /// Fresh pages are used; stale ones fetched again.
    Normal,
    /// `--refresh`: pages are always fetched again, and so is metadata read from a
    /// distribution file (only verified PEP 658 metadata is still used; see
    /// [`Cache::read_metadata`]).
    Refresh,
    /// `--offline`: whatever is there is used, stale or not.
    Offline,
}

#[derive(Clone, Debug)]
pub struct Cache {
    root: PathBuf,
    freshness: Freshness,
    /// Page entries found damaged after they were opened.
    damage: DamageLog,
}

impl Cache {
    pub fn new(root: PathBuf, freshness: Freshness) -> Self {
        Self { root, freshness, damage: DamageLog::default() }
    }

    /// The page entries found damaged so far (a version's files could not be read, so an
    /// answer built on them would miss those files), removed so that the next run fetches
    /// them again.
    pub fn damaged_pages(&self) -> Vec<PathBuf> {
        let damaged = self.damage.entries();
        damaged.iter().for_each(|path| discard(path));
        damaged
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn freshness(&self) -> Freshness {
        self.freshness
    }

    /// The platform's cache dir for hashlock (`$XDG_CACHE_HOME/hashlock`, `~/.cache/hashlock`,
    /// `~/Library/Caches/hashlock`, `%LOCALAPPDATA%\hashlock`).
    pub fn default_dir() -> Option<PathBuf> {
        default_dir_from(|name| std::env::var_os(name))
    }

    pub fn read_page(&self, index: &Url, name: &PackageName) -> Option<CachedPage> {
        if self.freshness == Freshness::Refresh {
            return None;
        }
        let entry = self.read_page_entry(index, name)?;
        let fresh = self.freshness == Freshness::Offline
            || unix_now()
                .checked_sub(entry.fetched_at)
                .is_some_and(|age| age < entry.max_age.map_or(DEFAULT_PAGE_TTL, Duration::from_secs).as_secs());
        fresh.then_some(entry.page)
    }

    /// The stored page however old, with when it was fetched (`--allow-stale`).
    pub fn read_stale_page(&self, index: &Url, name: &PackageName) -> Option<(CachedPage, u64)> {
        self.read_page_entry(index, name).map(|entry| (entry.page, entry.fetched_at))
    }

    fn read_page_entry(&self, index: &Url, name: &PackageName) -> Option<page_file::CachedEntry> {
        let path = self.page_path(index, name);
        let file = std::fs::File::open(&path).ok()?;
        let entry = page_file::read(file, &path, &self.damage).filter(|e| &e.page.name == name);
        if entry.is_none() {
            discard(&path);
        }
        entry
    }

    /// Stores a page in [`page_file`]'s form (which carries when it was fetched).
    pub fn write_page(&self, index: &Url, name: &PackageName, text: &str) {
        write_atomic(&self.page_path(index, name), text.as_bytes());
    }

    /// The metadata stored under `key`. A verified entry must still hash to its key. With
    /// `--refresh`, entries read from a distribution are not used: they rest on an index's
    /// word when they were written, and `--refresh` is how a user says not to trust what
    /// hashlock remembers of an index (verified ones are checked against the fresh page).
    pub fn read_metadata(&self, key: &MetadataKey) -> Option<Vec<u8>> {
        if self.freshness == Freshness::Refresh && matches!(key, MetadataKey::FromFile(_)) {
            return None;
        }
        read_checked(&self.metadata_path(key), |digest| match key {
            MetadataKey::Verified(expected) => digest == expected,
            MetadataKey::FromFile(_) | MetadataKey::Built(_) => true,
        })
    }

    pub fn write_metadata(&self, key: &MetadataKey, metadata: &[u8]) {
        write_atomic(&self.metadata_path(key), &with_check(metadata));
    }

    /// The provenance object stored for the distribution file with this sha256; none with
    /// `--refresh`, or for a key that is not a sha256 in lowercase hex.
    pub fn read_provenance(&self, file_sha256: &str) -> Option<Vec<u8>> {
        if self.freshness == Freshness::Refresh {
            return None;
        }
        read_checked(&self.provenance_path(file_sha256)?, |_| true)
    }

    pub fn write_provenance(&self, file_sha256: &str, provenance: &[u8]) {
        if let Some(path) = self.provenance_path(file_sha256) {
            write_atomic(&path, &with_check(provenance));
        }
    }

    /// The member summary stored for the wheel with this sha256 (see the module docs); none
    /// for a key that is not a sha256 in lowercase hex. Read with `--refresh` too: it says
    /// what bytes of that digest hold, which no index can change.
    pub fn read_wheel(&self, wheel_sha256: &str) -> Option<Vec<u8>> {
        read_checked(&self.wheel_path(wheel_sha256)?, |_| true)
    }

    pub fn write_wheel(&self, wheel_sha256: &str, summary: &[u8]) {
        if let Some(path) = self.wheel_path(wheel_sha256) {
            write_atomic(&path, &with_check(summary));
        }
    }

    /// Digests computed before for the file at this URL and size, as `decode` reads them
    /// (`None`: malformed, and the entry is discarded).
    pub fn read_computed<T>(&self, key: &ComputedKey, decode: impl FnOnce(&str) -> Option<T>) -> Option<T> {
        let path = self.computed_path(key);
        let bytes = std::fs::read(&path).ok()?;
        let value = split_checked(&bytes).and_then(|(_, content)| decode(std::str::from_utf8(content).ok()?));
        if value.is_none() {
            discard(&path);
        }
        value
    }

    pub fn write_computed(&self, key: &ComputedKey, text: &str) {
        write_atomic(&self.computed_path(key), &with_check(text.as_bytes()));
    }

    /// A small text value under the cache root (e.g. pip's default index URL).
    pub fn read_text(&self, key: &str) -> Option<String> {
        let path = self.text_path(key)?;
        std::fs::read_to_string(path).ok().filter(|value| !value.is_empty())
    }

    pub fn write_text(&self, key: &str, value: &str) {
        if let Some(path) = self.text_path(key) {
            write_atomic(&path, value.as_bytes());
        }
    }

    /// Removes the temp files of writes that never finished (a run killed mid-write) once
    /// they are older than [`STALE_TEMP_AGE`]: younger ones may be a concurrent run's, about
    /// to be renamed. Readers never open temp files, so until then they are only litter.
    pub fn remove_stale_temp_files(&self) {
        let Some(cutoff) = SystemTime::now().checked_sub(STALE_TEMP_AGE) else { return };
        let mut dirs = vec![self.root.clone()];
        while let Some(dir) = dirs.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else { continue };
            for entry in entries.flatten() {
                let (name, kind) = (entry.file_name(), entry.file_type());
                let ours =
                    dir != self.root || matches!(name.to_str(), Some("pages" | "metadata" | "provenance" | "computed"));
                match kind {
                    Ok(kind) if kind.is_dir() && ours => dirs.push(entry.path()),
                    Ok(kind) if kind.is_file() && name.to_string_lossy().starts_with(TEMP_PREFIX) => {
                        let old = entry.metadata().and_then(|m| m.modified()).is_ok_and(|modified| modified < cutoff);
                        if old {
                            let _ = std::fs::remove_file(entry.path());
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    /// Total size in bytes of the files in the cache.
    pub fn size(&self) -> u64 {
        dir_size(&self.root)
    }

    /// Removes hashlock's own entries (`pages/`, `metadata/`, `provenance/`, `computed/`, `wheels/`, the text
    /// values, leftover temp files) and nothing else: `--cache-dir` may name a directory that holds
    /// other files.
    pub fn clean(&self) -> std::io::Result<()> {
        let entries = match std::fs::read_dir(&self.root) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            other => other?,
        };
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name();
            let kind = entry.file_type()?;
            let ours = match name.to_str() {
                Some("pages" | "metadata" | "provenance" | "computed" | "wheels") => true,
                Some(name) => TEXT_KEYS.contains(&name) || (name.starts_with(TEMP_PREFIX) && kind.is_file()),
                None => false,
            };
            match ours {
                // `remove_dir_all` removes a symlink itself, never what it points to.
                true if kind.is_dir() => std::fs::remove_dir_all(entry.path())?,
                true => std::fs::remove_file(entry.path())?,
                false => {}
            }
        }
        Ok(())
    }

    fn page_path(&self, index: &Url, name: &PackageName) -> PathBuf {
        self.root.join("pages").join(index_key(index)).join(format!("{name}.page"))
    }

    fn metadata_path(&self, key: &MetadataKey) -> PathBuf {
        let dir = self.root.join("metadata");
        match key {
            MetadataKey::Verified(digest) => dir.join(format!("{digest}.metadata")),
            MetadataKey::FromFile(digest) => dir.join("from-file").join(format!("{digest}.metadata")),
            MetadataKey::Built(digest) => dir.join("built").join(format!("{digest}.json")),
        }
    }

    fn computed_path(&self, key: &ComputedKey) -> PathBuf {
        self.root.join("computed").join(format!("{}.hashes", key.0))
    }

    /// Keyed by a digest only, so that no text from an index becomes a path.
    fn provenance_path(&self, file_sha256: &str) -> Option<PathBuf> {
        is_sha256_hex(file_sha256).then(|| self.root.join("provenance").join(format!("{file_sha256}.json")))
    }

    fn wheel_path(&self, wheel_sha256: &str) -> Option<PathBuf> {
        is_sha256_hex(wheel_sha256).then(|| self.root.join("wheels").join(format!("{wheel_sha256}.json")))
    }

    /// Text keys are plain file names under the root; anything path-like is refused.
    fn text_path(&self, key: &str) -> Option<PathBuf> {
        let plain = !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'));
        plain.then(|| self.root.join(key))
    }
}

/// What a metadata entry is stored under, which is what it is trusted for. Both are lowercase
/// sha256 hex digests computed without reading anything, so an index's text never becomes a
/// path by itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MetadataKey {
    /// A PEP 658 file, by the sha256 the page advertised for it: good for any page that
    /// advertises the same hash, since the bytes are checked against it.
    Verified(String),
    /// Metadata read from the distribution file: the sha256 of its URL (without credentials)
    /// and the sha256 its page claims, so that no other URL or claim ever finds it.
    FromFile(String),
    /// What a PEP 517 build of an sdist found, by the sdist's sha256, which its bytes were
    /// checked against before the build ran.
    Built(String),
}

impl MetadataKey {
    /// The key of `file`'s PEP 658 file, when its page advertised a well-formed sha256 for it.
    pub fn verified(file: &DistFile) -> Option<Self> {
        let CoreMetadata::Present(hashes) = &file.core_metadata else { return None };
        let digest = hashes.get("sha256")?.trim().to_ascii_lowercase();
        is_sha256_hex(&digest).then_some(Self::Verified(digest))
    }

    /// The key of metadata read from `file` itself.
    pub fn read_from(file: &DistFile) -> Self {
        // Parsed only when it may carry credentials: a warm run computes tens of these keys.
        let url = match file.url.contains('@') {
            true => {
                Url::parse(&file.url).map_or_else(|_| file.url.clone(), |url| without_credentials(&url).to_string())
            }
            false => file.url.clone(),
        };
        Self::FromFile(sha256_hex(format!("{url}\n{}", file.sha256().unwrap_or_default()).as_bytes()))
    }
}

/// What computed digests are stored under: the sha256 of the file's URL (without
/// credentials) and its published size, so no text from an index becomes a path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ComputedKey(String);

impl ComputedKey {
    pub fn of(url: &Url, size: Option<u64>) -> Self {
        let size = size.map_or_else(|| "unknown".to_string(), |size| size.to_string());
        Self(sha256_hex(format!("{}\n{size}", without_credentials(url)).as_bytes()))
    }
}

/// The keys [`Cache::write_text`] is used with (`index::config`'s pip default index); `clean`
/// removes exactly these.
const TEXT_KEYS: &[&str] = &[crate::index::config::PIP_DEFAULT_KEY];

/// How `tempfile` names the temp files of [`write_atomic`].
const TEMP_PREFIX: &str = ".tmp";

/// A temp file this old belongs to no live write (one takes milliseconds).
pub const STALE_TEMP_AGE: Duration = Duration::from_secs(60 * 60);

/// How an index's `Cache-Control` header asks a project page to be cached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CachePolicy {
    /// No usable directive: [`DEFAULT_PAGE_TTL`] applies.
    Default,
    /// `max-age=N`; `no-cache` is `MaxAge(0)` (kept for `--offline`, never fresh).
    MaxAge(Duration),
    /// `no-store`: not written to disk at all.
    NoStore,
}

impl CachePolicy {
    /// Parses a `Cache-Control` header value (directives are case-insensitive; unknown ones
    /// and malformed `max-age` values are ignored).
    pub fn parse(cache_control: Option<&str>) -> Self {
        let mut policy = Self::Default;
        for directive in cache_control.unwrap_or_default().split(',') {
            let (key, value) = directive.split_once('=').unwrap_or((directive, ""));
            match key.trim().to_ascii_lowercase().as_str() {
                "no-store" => return Self::NoStore,
                "no-cache" => policy = Self::MaxAge(Duration::ZERO),
                "max-age" if policy == Self::Default => {
                    if let Ok(secs) = value.trim().trim_matches('"').parse::<u64>() {
                        policy = Self::MaxAge(Duration::from_secs(secs));
                    }
                }
                _ => {}
            }
        }
        policy
    }
}

/// First line of a metadata entry: `sha256:<hex of the rest>`.
const CHECK_PREFIX: &str = "sha256:";

/// `content` after its integrity line.
fn with_check(content: &[u8]) -> Vec<u8> {
    let mut bytes = format!("{CHECK_PREFIX}{}\n", sha256_hex(content)).into_bytes();
    bytes.extend_from_slice(content);
    bytes
}

/// The content of the entry at `path` whose integrity line checks and whose digest `accept`s;
/// any other entry is removed.
fn read_checked(path: &Path, accept: impl Fn(&str) -> bool) -> Option<Vec<u8>> {
    let mut bytes = std::fs::read(path).ok()?;
    let Some((_, content)) = split_checked(&bytes).filter(|(digest, _)| accept(digest)) else {
        discard(path);
        return None;
    };
    // In place: a copy is fresh memory, and a warm run reads tens of these.
    bytes.drain(..bytes.len() - content.len());
    Some(bytes)
}

/// The sha256 and the content after a valid integrity line, or `None` when the entry is
/// damaged.
fn split_checked(bytes: &[u8]) -> Option<(&str, &[u8])> {
    let newline = bytes.iter().position(|&b| b == b'\n')?;
    let expected = std::str::from_utf8(&bytes[..newline]).ok()?.strip_prefix(CHECK_PREFIX)?;
    let content = &bytes[newline + 1..];
    (sha256_hex(content) == expected).then_some((expected, content))
}

fn default_dir_from(var: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    let nonempty = |name: &str| var(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    let base = if cfg!(windows) {
        nonempty("LOCALAPPDATA")
    } else if cfg!(target_os = "macos") {
        nonempty("HOME").map(|home| home.join("Library").join("Caches"))
    } else {
        nonempty("XDG_CACHE_HOME")
            .filter(|dir| dir.is_absolute())
            .or_else(|| nonempty("HOME").map(|home| home.join(".cache")))
    };
    base.map(|dir| dir.join("hashlock"))
}

/// The cache directory name for an index: sha256 of its URL without credentials, first 16 hex
/// digits (a rotated token keeps the cache; no secret reaches the file system).
fn index_key(index: &Url) -> String {
    sha256_hex(without_credentials(index).as_str().as_bytes())[..16].to_string()
}

fn sha256_hex(bytes: &[u8]) -> String {
    lower_hex(&Sha256::digest(bytes))
}

pub(super) fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Removes a damaged entry; a failure only means the next read discards it again.
fn discard(path: &Path) {
    let _ = std::fs::remove_file(path);
}

/// Writes through a temp file in the same directory and a rename, so readers see the old
/// entry or the whole new one. The cache is an optimisation: failures are ignored.
fn write_atomic(path: &Path, bytes: &[u8]) {
    write_atomic_with(path, |file| file.write_all(bytes));
}

/// [`write_atomic`] with the content written by `write` through a buffer.
fn write_atomic_with(path: &Path, write: impl FnOnce(&mut BufWriter<&mut File>) -> std::io::Result<()>) {
    let attempt = || -> std::io::Result<()> {
        let dir = path.parent().ok_or(std::io::ErrorKind::InvalidInput)?;
        std::fs::create_dir_all(dir)?;
        let mut temp = tempfile::NamedTempFile::new_in(dir)?;
        let mut buffered = BufWriter::new(temp.as_file_mut());
        write(&mut buffered)?;
        buffered.flush()?;
        drop(buffered);
        temp.persist(path).map_err(|e| e.error)?;
        Ok(())
    };
    let _ = attempt();
}

fn dir_size(path: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else { return 0 };
    entries
        .flatten()
        .map(|entry| match entry.file_type() {
            Ok(kind) if kind.is_dir() => dir_size(&entry.path()),
            Ok(kind) if kind.is_file() => entry.metadata().map_or(0, |m| m.len()),
            _ => 0,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;
    use crate::dist::{CoreMetadata, HashSource, Hashes};
    use crate::index::{PageFormat, ProjectPage};

    fn index() -> Url {
        Url::parse("https://user:secret@index.example/simple/").unwrap()
    }

    fn page(name: &str) -> ProjectPage {
        let url = Url::parse(&format!("https://index.example/simple/{name}/")).unwrap();
        ProjectPage {
            name: PackageName::from_str(name).unwrap(),
            url,
            format: PageFormat::Json,
            files: vec![file(None)],
        }
    }

    fn file(sha256: Option<&str>) -> DistFile {
        DistFile {
            filename: "demo-1.0.tar.gz".into(),
            url: "https://files.example/demo-1.0.tar.gz".into(),
            hashes: sha256.map(|h| Hashes::from([("sha256".into(), h.into())])).unwrap_or_default(),
            hash_source: if sha256.is_some() { HashSource::JsonPage } else { HashSource::None },
            requires_python: None,
            yanked: None,
            core_metadata: CoreMetadata::Absent,
            size: None,
            upload_time: None,
            provenance: None,
        }
    }

    fn cache(dir: &Path, freshness: Freshness) -> Cache {
        Cache::new(dir.to_path_buf(), freshness)
    }

    fn demo() -> PackageName {
        PackageName::from_str("demo").unwrap()
    }

    /// Stores the demo page as just fetched, fresh for `max_age` seconds (else the default).
    fn store(cache: &Cache, max_age: Option<u64>) {
        cache.write_page(&index(), &demo(), &page_file::encode(unix_now(), max_age, &page("demo")));
    }

    /// Rewrites the stored entry as if it had been fetched `age` ago.
    fn age_entry(cache: &Cache, age: Duration) {
        let path = cache.page_path(&index(), &demo());
        let text = std::fs::read_to_string(&path).unwrap();
        let fetched_at: u64 = text.lines().nth(1).unwrap().strip_prefix("fetched_at ").unwrap().parse().unwrap();
        let aged = text.replacen(
            &format!("fetched_at {fetched_at}"),
            &format!("fetched_at {}", fetched_at - age.as_secs()),
            1,
        );
        std::fs::write(&path, aged).unwrap();
    }

    #[test]
    fn page_round_trip_and_layout() {
        let dir = tempfile::tempdir().unwrap();
        let normal = cache(dir.path(), Freshness::Normal);
        store(&normal, None);
        assert_eq!(normal.read_page(&index(), &demo()).map(CachedPage::into_page), Some(page("demo")));
        // Credentials do not change the key and never reach the disk.
        let bare = Url::parse("https://index.example/simple/").unwrap();
        assert_eq!(normal.read_page(&bare, &demo()).map(CachedPage::into_page), Some(page("demo")));
        let path = normal.page_path(&index(), &demo());
        assert_eq!(path.strip_prefix(dir.path()).unwrap().iter().count(), 3);
        assert_eq!(path.file_name().unwrap(), "demo.page");
        assert!(!String::from_utf8(std::fs::read(&path).unwrap()).unwrap().contains("secret"));
        // Another index has its own entries.
        let other = Url::parse("https://other.example/simple/").unwrap();
        assert!(normal.read_page(&other, &demo()).is_none());
    }

    #[test]
    fn pages_expire_after_max_age_or_default_ttl() {
        let dir = tempfile::tempdir().unwrap();
        let normal = cache(dir.path(), Freshness::Normal);
        store(&normal, Some(60));
        age_entry(&normal, Duration::from_secs(30));
        assert!(normal.read_page(&index(), &demo()).is_some());
        age_entry(&normal, Duration::from_secs(31));
        assert!(normal.read_page(&index(), &demo()).is_none());

        store(&normal, None);
        age_entry(&normal, DEFAULT_PAGE_TTL - Duration::from_secs(5));
        assert!(normal.read_page(&index(), &demo()).is_some());
        age_entry(&normal, Duration::from_secs(10));
        assert!(normal.read_page(&index(), &demo()).is_none());

        // Stale entries are kept: --offline still uses them; --refresh never reads pages.
        assert!(cache(dir.path(), Freshness::Offline).read_page(&index(), &demo()).is_some());
        store(&normal, None);
        assert!(cache(dir.path(), Freshness::Refresh).read_page(&index(), &demo()).is_none());
    }

    #[test]
    fn corrupt_page_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let normal = cache(dir.path(), Freshness::Offline);
        store(&normal, None);
        let path = normal.page_path(&index(), &demo());
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        assert!(normal.read_page(&index(), &demo()).is_none());
        assert!(!path.exists());
        // A page stored under the wrong name is not trusted either.
        let text = String::from_utf8(bytes).unwrap().replace("name demo", "name evil");
        std::fs::write(&path, text).unwrap();
        assert!(normal.read_page(&index(), &demo()).is_none());
    }

    /// A file whose page advertises a PEP 658 file with this sha256.
    fn advertising(metadata_sha256: &str) -> DistFile {
        let hashes = Hashes::from([("sha256".into(), metadata_sha256.into())]);
        DistFile { core_metadata: CoreMetadata::Present(hashes), ..file(Some(&"ab".repeat(32))) }
    }

    #[test]
    fn verified_metadata_is_keyed_by_its_own_hash_and_must_still_match_it() {
        let dir = tempfile::tempdir().unwrap();
        let c = cache(dir.path(), Freshness::Normal);
        let metadata = b"Metadata-Version: 2.1\nName: demo\n";
        let digest = sha256_hex(metadata);
        let key = MetadataKey::verified(&advertising(&digest.to_uppercase())).unwrap();
        assert_eq!(key, MetadataKey::Verified(digest.clone()));
        c.write_metadata(&key, metadata);
        assert_eq!(c.read_metadata(&key).unwrap(), metadata);
        assert!(dir.path().join("metadata").join(format!("{digest}.metadata")).exists());
        // --refresh still uses it: the fresh page's hash is what it is checked against.
        assert_eq!(cache(dir.path(), Freshness::Refresh).read_metadata(&key).unwrap(), metadata);
        // Other bytes under a verified name (the old layout, a hand edit) are removed, not believed.
        let lie = MetadataKey::Verified("ab".repeat(32));
        c.write_metadata(&lie, b"Name: demo\nRequires-Dist: helper\n");
        assert_eq!(c.read_metadata(&lie), None);
        assert!(!c.metadata_path(&lie).exists());
        // Nothing advertised, or not a sha256 hex digest: nothing to verify (and never a path).
        assert_eq!(MetadataKey::verified(&file(Some(&digest))), None);
        assert_eq!(MetadataKey::verified(&advertising("../../escape")), None);
    }

    #[test]
    fn metadata_read_from_a_file_is_keyed_by_its_url_and_claimed_hash() {
        let dir = tempfile::tempdir().unwrap();
        let c = cache(dir.path(), Freshness::Normal);
        let f = file(Some(&"ab".repeat(32)));
        let key = MetadataKey::read_from(&f);
        c.write_metadata(&key, b"Name: demo\n");
        assert_eq!(c.read_metadata(&key).unwrap(), b"Name: demo\n");
        assert!(c.metadata_path(&key).starts_with(dir.path().join("metadata").join("from-file")));
        // Another index's copy (another URL), another claimed hash or none: another entry.
        let elsewhere = DistFile { url: "https://other.example/demo-1.0.tar.gz".into(), ..f.clone() };
        for other in [elsewhere, file(Some(&"cd".repeat(32))), file(None)] {
            assert_ne!(MetadataKey::read_from(&other), key);
        }
        // Credentials in the URL do not change the key.
        let with_token = DistFile { url: "https://tok@files.example/demo-1.0.tar.gz".into(), ..f.clone() };
        assert_eq!(MetadataKey::read_from(&with_token), key);
        // --refresh reads the file again rather than trust what an index once served.
        assert_eq!(cache(dir.path(), Freshness::Refresh).read_metadata(&key), None);
    }

    /// Keys come from the index (URLs, digests) and the command line: whatever they hold,
    /// every entry lands inside the cache directory.
    #[test]
    fn no_key_escapes_the_cache_directory() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("a").join("cache");
        let c = cache(&root, Freshness::Normal);
        // An absolute key points into the temporary directory too, so that the walk below sees it.
        let absolute = format!("{}/escape", dir.path().display());
        let hostile = ["../../../escape", &absolute, "..\\..\\escape", "ab/../../escape", "ab\0cd", ""];
        for key in hostile {
            let mut f = file(Some(key));
            f.url = format!("https://files.example/{key}");
            c.write_metadata(&MetadataKey::read_from(&f), b"Metadata-Version: 2.1\nName: demo\n");
            // A digest that is not hex names no verified entry at all.
            f.core_metadata = CoreMetadata::Present(Hashes::from([("sha256".into(), key.into())]));
            assert_eq!(MetadataKey::verified(&f), None);
            c.write_provenance(key, b"null");
            c.write_text(key, "x");
        }
        for index in ["https://index.example/../../escape/", "https://index.example/%2e%2e/%2e%2e/", "file:///etc/"] {
            let index = Url::parse(index).unwrap();
            for name in ["demo", "A..b", "x_-.y"] {
                let name = PackageName::from_str(name).unwrap();
                c.write_page(&index, &name, &page_file::encode(unix_now(), None, &page("demo")));
            }
        }
        let mut outside = Vec::new();
        let mut pending = vec![dir.path().to_path_buf()];
        while let Some(path) = pending.pop() {
            for entry in std::fs::read_dir(&path).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    pending.push(path);
                } else if !path.starts_with(&root) {
                    outside.push(path);
                }
            }
        }
        assert_eq!(outside, Vec::<PathBuf>::new());
        assert!(c.size() > 0, "the entries were written, inside");
    }

    #[test]
    fn truncated_metadata_is_discarded() {
        let dir = tempfile::tempdir().unwrap();
        let c = cache(dir.path(), Freshness::Normal);
        let key = MetadataKey::read_from(&file(Some(&"cd".repeat(32))));
        c.write_metadata(&key, b"Metadata-Version: 2.1\nName: demo\nRequires-Dist: other\n");
        let path = c.metadata_path(&key);
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 10]).unwrap();
        assert_eq!(c.read_metadata(&key), None);
        assert!(!path.exists());
    }

    #[test]
    fn text_size_and_clean() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("cache");
        let c = cache(&root, Freshness::Normal);
        assert_eq!(c.size(), 0);
        assert!(c.clean().is_ok());
        c.write_text("pip-default-index", "https://index.example/simple/");
        assert_eq!(c.read_text("pip-default-index").as_deref(), Some("https://index.example/simple/"));
        c.write_text("../outside", "x");
        assert!(!dir.path().join("outside").exists());
        store(&c, None);
        assert!(c.size() > "https://index.example/simple/".len() as u64);
        c.clean().unwrap();
        assert_eq!(c.size(), 0);
        assert_eq!(c.read_text("pip-default-index"), None);
        assert!(c.read_page(&index(), &demo()).is_none());
    }

    #[test]
    fn clean_removes_only_hashlock_entries() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let c = cache(root, Freshness::Normal);
        store(&c, None);
        c.write_metadata(&MetadataKey::read_from(&file(Some(&"ab".repeat(32)))), b"Name: demo\n");
        c.write_provenance(&"ab".repeat(32), b"null");
        c.write_text("pip-default-index", "https://index.example/simple/");
        std::fs::write(root.join(".tmpAb12Cd"), b"left by a killed write").unwrap();
        // What a user keeps in a directory passed as --cache-dir (e.g. the home directory).
        std::fs::write(root.join("notes.txt"), b"mine").unwrap();
        std::fs::write(root.join(".bashrc"), b"mine").unwrap();
        std::fs::create_dir(root.join("projects")).unwrap();
        std::fs::write(root.join("projects").join("pages"), b"mine").unwrap();
        c.clean().unwrap();
        let mut left: Vec<_> = std::fs::read_dir(root).unwrap().map(|e| e.unwrap().file_name()).collect();
        left.sort();
        assert_eq!(left, [".bashrc", "notes.txt", "projects"]);
        assert!(root.join("projects").join("pages").exists());
        assert_eq!(c.read_text("pip-default-index"), None);
        assert_eq!(c.read_provenance(&"ab".repeat(32)), None);
    }

    #[test]
    fn cache_control_policies() {
        assert_eq!(CachePolicy::parse(None), CachePolicy::Default);
        assert_eq!(CachePolicy::parse(Some("public, max-age=600")), CachePolicy::MaxAge(Duration::from_secs(600)));
        assert_eq!(CachePolicy::parse(Some("Max-Age=\"30\"")), CachePolicy::MaxAge(Duration::from_secs(30)));
        assert_eq!(CachePolicy::parse(Some("no-cache, max-age=600")), CachePolicy::MaxAge(Duration::ZERO));
        assert_eq!(CachePolicy::parse(Some("max-age=600, no-store")), CachePolicy::NoStore);
        assert_eq!(CachePolicy::parse(Some("max-age=soon, private")), CachePolicy::Default);
    }

    #[cfg(all(unix, not(target_os = "macos")))]
    #[test]
    fn default_dir_follows_xdg_then_home() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| OsString::from(v))
        };
        assert_eq!(
            default_dir_from(env(&[("XDG_CACHE_HOME", "/xdg"), ("HOME", "/home/u")])),
            Some(PathBuf::from("/xdg/hashlock"))
        );
        assert_eq!(
            default_dir_from(env(&[("XDG_CACHE_HOME", "relative"), ("HOME", "/home/u")])),
            Some(PathBuf::from("/home/u/.cache/hashlock"))
        );
        assert_eq!(default_dir_from(env(&[])), None);
    }

    /// What a killed run leaves: old temp files go, a concurrent run's young one and every
    /// entry stay, and nothing outside hashlock's directories is touched.
    #[test]
    fn stale_temp_files_are_removed_and_young_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().to_path_buf(), Freshness::Normal);
        let old = SystemTime::now() - STALE_TEMP_AGE - Duration::from_secs(60);
        let file = |path: &str, modified: Option<SystemTime>| {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            let file = File::create(&path).unwrap();
            if let Some(time) = modified {
                file.set_modified(time).unwrap();
            }
            path
        };
        let gone = [
            file("pages/0123456789abcdef/.tmpA1b2C3", Some(old)),
            file("metadata/from-file/.tmpX", Some(old)),
            // The temp file of a text value, as `clean` counts it.
            file(".tmpPipDefault", Some(old)),
        ];
        let kept = [
            file("pages/0123456789abcdef/.tmpYoung", None),
            file("pages/0123456789abcdef/demo.page", Some(old)),
            file("computed/.tmpYoung", None),
            file("other-tool/.tmpOld", Some(old)),
        ];
        cache.remove_stale_temp_files();
        for path in gone {
            assert!(!path.exists(), "{} is still there", path.display());
        }
        for path in kept {
            assert!(path.exists(), "{} was removed", path.display());
        }
    }

    proptest::proptest! {
        /// `Cache-Control` is the index's text.
        #[test]
        fn cache_policy_never_panics(text in ".{0,60}", secs in 0u64..10_000_000) {
            let _ = CachePolicy::parse(Some(&text));
            let max_age = format!("public, max-age={secs}");
            proptest::prop_assert_eq!(CachePolicy::parse(Some(&max_age)), CachePolicy::MaxAge(Duration::from_secs(secs)));
        }
    }
}
