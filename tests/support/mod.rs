//! Test support shared by the integration tests: a loopback Python package index
//! ([`IndexServer`] over a [`Registry`]), real distributions built in memory ([`build`]),
//! real PEP 740 attestations to serve ([`provenance`]),
//! a parser for the requirements files hashlock writes ([`LockFile`]), and the hashlock
//! command with a clean environment.
//!
//! Every test binary uses a different part of this module.
#![allow(dead_code)]

pub mod build;
pub mod pip;
pub mod provenance;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use pep508_rs::pep440_rs::Version;
use serde::Deserialize;

pub use build::{Built, normalise, sha256_hex};

pub const JSON_TYPE: &str = "application/vnd.pypi.simple.v1+json";
pub const HTML_TYPE: &str = "application/vnd.pypi.simple.v1+html";
/// The media type of PEP 740 provenance objects.
pub const INTEGRITY_TYPE: &str = "application/vnd.pypi.integrity.v1+json";
/// The repository API version pages declare: 1.3 defines files' provenance URLs.
pub const API_VERSION: &str = "1.3";
/// The PEP 700 `upload-time` JSON pages give every file with bytes (HTML pages have none).
pub const UPLOADED: &str = "2025-01-02T03:04:05.678901Z";

// --- the model ---------------------------------------------------------------------------------

/// Which hashes the index publishes for a file (for the audit tests: weak, missing, wrong).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Published {
    /// The real sha256 of the bytes.
    Sha256,
    None,
    /// Only an md5 digest, which pip rejects (and which matches nothing).
    Md5Only,
    /// Only the real md5 of the bytes, as some Nexus set-ups publish.
    RealMd5,
    /// Only the real sha1 of the bytes.
    RealSha1,
    /// Only the real sha512.
    Sha512Only,
    /// A well-formed sha256 that matches nothing.
    WrongSha256,
}

/// One file of a project on the index.
#[derive(Clone, Debug)]
pub struct File {
    pub filename: String,
    /// The version the filename carries, as written there.
    pub version: String,
    /// `None` for recorded files: only their page entry and metadata exist.
    pub bytes: Option<Vec<u8>>,
    /// What the index publishes, `alg → hex`.
    pub hashes: BTreeMap<String, String>,
    pub requires_python: Option<String>,
    /// `Some("")` is yanked without a reason.
    pub yanked: Option<String>,
    /// Core metadata served as a PEP 658/714 file.
    pub metadata: Option<Vec<u8>>,
    /// Size published for files without bytes.
    pub size: Option<u64>,
    /// Zero bytes served after `bytes`, generated while sending (ranges are ignored): a large
    /// file that costs no memory. The published hashes stay those of `bytes`.
    pub padding: u64,
    /// PEP 700 `upload-time` on JSON pages, as served (not checked).
    pub upload_time: Option<String>,
    /// A PEP 740 provenance object, served (as these bytes) at `<file URL>.provenance` and
    /// listed on the pages.
    pub provenance: Option<Vec<u8>>,
}

impl File {
    /// A file with bytes, published with its real sha256.
    pub fn new(filename: &str, version: &str, bytes: Vec<u8>) -> Self {
        let hashes = BTreeMap::from([("sha256".to_string(), sha256_hex(&bytes))]);
        Self {
            filename: filename.into(),
            version: version.into(),
            size: Some(bytes.len() as u64),
            bytes: Some(bytes),
            hashes,
            requires_python: None,
            yanked: None,
            metadata: None,
            padding: 0,
            upload_time: Some(UPLOADED.into()),
            provenance: None,
        }
    }

    /// Declared `size` bytes long: `bytes`, then zeros up to `size`.
    pub fn padded_to(mut self, size: u64) -> Self {
        let len = self.bytes.as_ref().map_or(0, Vec::len) as u64;
        self.padding = size.saturating_sub(len);
        self.size = Some(len + self.padding);
        self
    }

    /// A built distribution; wheels get their METADATA served as a PEP 658 file, sdists
    /// nothing (indexes do not advertise sdist metadata).
    pub fn built(built: Built, version: &str) -> Self {
        let mut file = Self::new(&built.filename, version, built.bytes);
        if built.filename.ends_with(".whl") {
            file.metadata = Some(built.metadata.into_bytes());
        }
        file
    }

    pub fn publish(mut self, published: Published) -> Self {
        let bytes = self.bytes.as_deref().unwrap_or_default();
        self.hashes = match published {
            Published::Sha256 => BTreeMap::from([("sha256".into(), sha256_hex(bytes))]),
            Published::None => BTreeMap::new(),
            Published::Md5Only => BTreeMap::from([("md5".into(), "0".repeat(32))]),
            Published::RealMd5 => {
                use md5::Digest;
                let hex = md5::Md5::digest(bytes).iter().map(|b| format!("{b:02x}")).collect();
                BTreeMap::from([("md5".into(), hex)])
            }
            Published::RealSha1 => {
                use sha1::Digest;
                let hex = sha1::Sha1::digest(bytes).iter().map(|b| format!("{b:02x}")).collect();
                BTreeMap::from([("sha1".into(), hex)])
            }
            Published::Sha512Only => {
                use sha2::Digest;
                let hex = sha2::Sha512::digest(bytes).iter().map(|b| format!("{b:02x}")).collect();
                BTreeMap::from([("sha512".into(), hex)])
            }
            Published::WrongSha256 => BTreeMap::from([("sha256".into(), "ab".repeat(32))]),
        };
        self
    }

    pub fn requires_python(mut self, spec: &str) -> Self {
        self.requires_python = Some(spec.into());
        self
    }

    pub fn yanked(mut self, reason: &str) -> Self {
        self.yanked = Some(reason.into());
        self
    }

    /// Serves `provenance` (a provenance object, or anything else a test needs) for the file.
    pub fn with_provenance(mut self, provenance: impl Into<Vec<u8>>) -> Self {
        self.provenance = Some(provenance.into());
        self
    }

    pub fn is_wheel(&self) -> bool {
        self.filename.ends_with(".whl")
    }
}

/// A release to publish: a wheel for each tag set, optionally an sdist, all built from the
/// same metadata. `Release::new("a", "1.0").requires(&["b>=1"])` is a pure wheel.
#[derive(Clone, Debug)]
pub struct Release {
    pub name: String,
    pub version: String,
    pub requires_dist: Vec<String>,
    pub requires_python: Option<String>,
    pub extras: Vec<(String, Vec<String>)>,
    pub tags: Vec<String>,
    pub sdist: Option<Sdist>,
    pub yanked: Option<String>,
    pub payload: usize,
}

/// The sdist of a release: its Metadata-Version and `Dynamic` fields.
#[derive(Clone, Debug)]
pub struct Sdist {
    pub metadata_version: String,
    pub dynamic: Vec<String>,
}

impl Release {
    pub fn new(name: &str, version: &str) -> Self {
        Self {
            name: name.into(),
            version: version.into(),
            requires_dist: Vec::new(),
            requires_python: None,
            extras: Vec::new(),
            tags: vec!["py3-none-any".into()],
            sdist: None,
            yanked: None,
            payload: 0,
        }
    }

    pub fn requires(mut self, requirements: &[&str]) -> Self {
        self.requires_dist.extend(requirements.iter().map(|r| r.to_string()));
        self
    }

    pub fn requires_python(mut self, spec: &str) -> Self {
        self.requires_python = Some(spec.into());
        self
    }

    pub fn extra(mut self, extra: &str, requirements: &[&str]) -> Self {
        self.extras.push((extra.into(), requirements.iter().map(|r| r.to_string()).collect()));
        self
    }

    /// Wheels for these tag sets instead of one `py3-none-any` wheel.
    pub fn wheels(mut self, tags: &[&str]) -> Self {
        self.tags = tags.iter().map(|t| t.to_string()).collect();
        self
    }

    /// Also an sdist with Metadata-Version 2.2 and static requirements.
    pub fn with_sdist(self) -> Self {
        self.with_sdist_metadata("2.2", &[])
    }

    pub fn with_sdist_metadata(mut self, metadata_version: &str, dynamic: &[&str]) -> Self {
        self.sdist = Some(Sdist {
            metadata_version: metadata_version.into(),
            dynamic: dynamic.iter().map(|d| d.to_string()).collect(),
        });
        self
    }

    /// Only an sdist (Metadata-Version 2.2, static requirements), no wheel.
    pub fn sdist_only(self) -> Self {
        self.wheels(&[]).with_sdist()
    }

    pub fn yanked(mut self, reason: &str) -> Self {
        self.yanked = Some(reason.into());
        self
    }

    /// Pads each wheel with this many incompressible bytes.
    pub fn payload(mut self, bytes: usize) -> Self {
        self.payload = bytes;
        self
    }

    /// Builds the files.
    pub fn files(&self) -> Vec<File> {
        let requires: Vec<&str> = self.requires_dist.iter().map(String::as_str).collect();
        let extra_reqs: Vec<Vec<&str>> =
            self.extras.iter().map(|(_, reqs)| reqs.iter().map(String::as_str).collect()).collect();
        let extras: Vec<(&str, &[&str])> =
            self.extras.iter().zip(&extra_reqs).map(|((extra, _), reqs)| (extra.as_str(), reqs.as_slice())).collect();
        let mut files: Vec<File> = self
            .tags
            .iter()
            .map(|tags| {
                let spec = build::WheelSpec {
                    name: &self.name,
                    version: &self.version,
                    tags,
                    requires_dist: &requires,
                    requires_python: self.requires_python.as_deref(),
                    extras: &extras,
                    payload: self.payload,
                    ..build::WheelSpec::default()
                };
                File::built(spec.build(), &self.version)
            })
            .collect();
        if let Some(sdist) = &self.sdist {
            let dynamic: Vec<&str> = sdist.dynamic.iter().map(String::as_str).collect();
            let built = build::sdist(&self.name, &self.version, &sdist.metadata_version, &requires, &dynamic);
            files.push(File::built(built, &self.version));
        }
        for file in &mut files {
            file.requires_python.clone_from(&self.requires_python);
            file.yanked.clone_from(&self.yanked);
        }
        files
    }
}

/// Projects and their files, keyed by normalised name.
#[derive(Clone, Debug, Default)]
pub struct Registry {
    pub projects: BTreeMap<String, Vec<File>>,
}

impl Registry {
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds and adds every file of each release.
    pub fn with(mut self, releases: impl IntoIterator<Item = Release>) -> Self {
        for release in releases {
            self.publish(&release);
        }
        self
    }

    pub fn publish(&mut self, release: &Release) {
        for file in release.files() {
            self.add(&release.name, file);
        }
    }

    pub fn add(&mut self, project: &str, file: File) {
        self.projects.entry(normalise(project)).or_default().push(file);
    }

    pub fn file(&self, filename: &str) -> Option<&File> {
        self.projects.values().flatten().find(|f| f.filename == filename)
    }

    /// The files of one version (versions compared by PEP 440).
    pub fn files_of(&self, project: &str, version: &str) -> Vec<&File> {
        let wanted = Version::from_str(version).unwrap_or_else(|e| panic!("bad version {version}: {e}"));
        self.projects
            .get(&normalise(project))
            .into_iter()
            .flatten()
            .filter(|f| Version::from_str(&f.version).is_ok_and(|v| v == wanted))
            .collect()
    }

    /// The published sha256 digests of every file of one version.
    pub fn sha256s(&self, project: &str, version: &str) -> BTreeSet<String> {
        self.files_of(project, version).iter().filter_map(|f| f.hashes.get("sha256").cloned()).collect()
    }

    /// Loads a recorded index (gzip'd JSON, see `scripts/record-fixture.py`): page entries and
    /// the recorded metadata, no file bytes.
    pub fn from_recorded(path: &Path) -> Self {
        let mut text = String::new();
        let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        flate2::read::GzDecoder::new(file)
            .read_to_string(&mut text)
            .unwrap_or_else(|e| panic!("{}: not gzip'd UTF-8: {e}", path.display()));
        let recorded: Recorded =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: not a recorded index: {e}", path.display()));
        let mut registry = Self::new();
        for (project, mut files) in recorded.projects {
            // The recording keeps one METADATA per version (from its best wheel); every wheel of
            // that version serves it, whichever one the resolver picks for the target.
            let recorded_metadata: BTreeMap<String, String> = files
                .iter()
                .filter_map(|f| Some((version_in_filename(&f.filename, &project)?, f.metadata.clone()?)))
                .collect();
            for f in files.iter_mut().filter(|f| f.filename.ends_with(".whl")) {
                if let Some(version) = version_in_filename(&f.filename, &project) {
                    f.metadata = f.metadata.take().or_else(|| recorded_metadata.get(&version).cloned());
                }
            }
            for f in files {
                let yanked = match f.yanked {
                    serde_json::Value::Bool(false) | serde_json::Value::Null => None,
                    serde_json::Value::String(reason) => Some(reason),
                    _ => Some(String::new()),
                };
                let file = File {
                    version: version_in_filename(&f.filename, &project).unwrap_or_default(),
                    filename: f.filename,
                    bytes: None,
                    hashes: f.hashes,
                    requires_python: f.requires_python,
                    yanked,
                    metadata: f.metadata.map(String::into_bytes),
                    size: f.size,
                    padding: 0,
                    upload_time: None,
                    provenance: None,
                };
                registry.add(&project, file);
            }
        }
        registry
    }
}

#[derive(Deserialize)]
struct Recorded {
    projects: BTreeMap<String, Vec<RecordedFile>>,
}

#[derive(Deserialize)]
struct RecordedFile {
    filename: String,
    #[serde(default)]
    hashes: BTreeMap<String, String>,
    requires_python: Option<String>,
    #[serde(default)]
    yanked: serde_json::Value,
    size: Option<u64>,
    metadata: Option<String>,
}

const SDIST_SUFFIXES: [&str; 6] = [".tar.gz", ".tar.bz2", ".tar.xz", ".tgz", ".zip", ".tar"];

/// The version a wheel or sdist filename carries; `None` for other forms (eggs, installers).
pub fn version_in_filename(filename: &str, project: &str) -> Option<String> {
    if let Some(stem) = filename.strip_suffix(".whl") {
        let parts: Vec<&str> = stem.split('-').collect();
        return (parts.len() >= 5).then(|| parts[1].to_string());
    }
    let stem = SDIST_SUFFIXES.iter().find_map(|s| filename.strip_suffix(s))?;
    let by_name = stem.match_indices('-').find(|(i, _)| normalise(&stem[..*i]) == normalise(project));
    match by_name {
        Some((i, _)) => Some(stem[i + 1..].to_string()),
        None => stem.rsplit_once('-').map(|(_, v)| v.to_string()),
    }
}

// --- the server --------------------------------------------------------------------------------

/// How a broken index answers every request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fail {
    /// 500 with an HTML error page.
    ServerError,
    /// 200, JSON content type, a body that is not JSON.
    GarbageJson,
}

/// Switches, settable before and while serving.
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// Serve PEP 691 JSON when asked; off: HTML only, as `text/html`.
    pub json: bool,
    /// Advertise and serve PEP 658/714 metadata files.
    pub pep658: bool,
    /// Honour `Range`; off: 200 with the whole body.
    pub range: bool,
    /// List and serve files' provenance objects; off: pages list none, and their URLs are 404.
    pub provenance: bool,
    pub fail: Option<Fail>,
    /// Send every body one byte at a time, this far apart (a trickling index).
    pub trickle: Option<Duration>,
    /// Answer the first request for each path with 429 and `Retry-After: <this many seconds>`.
    pub throttle: Option<u64>,
    /// Bytes of filler in every JSON project page (an ignored key): a page of tens of MB.
    pub page_padding: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            json: true,
            pep658: true,
            range: true,
            provenance: true,
            fail: None,
            trickle: None,
            throttle: None,
            page_padding: 0,
        }
    }
}

/// One request as the server saw and answered it.
#[derive(Clone, Debug)]
pub struct Logged {
    pub method: String,
    /// Decoded, without the query.
    pub path: String,
    pub accept: Option<String>,
    pub range: Option<String>,
    pub status: u16,
    pub content_type: String,
    /// The body's length, as `Content-Length` declared it.
    pub body_len: usize,
}

struct State {
    registry: Registry,
    config: Config,
    log: Vec<Logged>,
    /// Project pages served as these raw bytes with `Content-Encoding: gzip` (a gzip bomb).
    gzipped_pages: BTreeMap<String, Vec<u8>>,
    /// Bytes of response bodies handed to the network per path, however early the client hung up.
    sent: BTreeMap<String, u64>,
}

/// A package index on 127.0.0.1, served until dropped: one thread accepts, and each connection
/// gets a thread of its own for as long as the client keeps it alive. (tiny_http's pool can
/// strand a new connection behind kept-alive ones when many arrive at once, which stalled runs
/// for a whole client timeout; hashlock keeps up to 32 connections open.)
pub struct IndexServer {
    state: Arc<Mutex<State>>,
    stopping: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
    base: String,
}

impl IndexServer {
    pub fn start(registry: Registry) -> Self {
        Self::start_with(registry, Config::default())
    }

    pub fn start_with(registry: Registry, config: Config) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("a bound address").port();
        let base = format!("http://127.0.0.1:{port}");
        let state = Arc::new(Mutex::new(State {
            registry,
            config,
            log: Vec::new(),
            gzipped_pages: BTreeMap::new(),
            sent: BTreeMap::new(),
        }));
        let stopping = Arc::new(AtomicBool::new(false));
        let acceptor = {
            let (state, stopping, base) = (Arc::clone(&state), Arc::clone(&stopping), base.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stopping.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let (state, base) = (Arc::clone(&state), base.clone());
                    std::thread::spawn(move || serve_connection(stream, &state, &base));
                }
            })
        };
        Self { state, stopping, acceptor: Some(acceptor), base }
    }

    /// `http://127.0.0.1:PORT/simple`
    pub fn index_url(&self) -> String {
        format!("{}/simple", self.base)
    }

    /// `http://127.0.0.1:PORT`
    pub fn base_url(&self) -> &str {
        &self.base
    }

    pub fn file_url(&self, filename: &str) -> String {
        format!("{}/files/{filename}", self.base)
    }

    /// Where the pages say the file's provenance object is.
    pub fn provenance_url(&self, filename: &str) -> String {
        format!("{}.provenance", self.file_url(filename))
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn configure(&self, change: impl FnOnce(&mut Config)) {
        change(&mut self.state().config);
    }

    pub fn set_json(&self, on: bool) {
        self.configure(|c| c.json = on);
    }

    pub fn set_pep658(&self, on: bool) {
        self.configure(|c| c.pep658 = on);
    }

    pub fn set_range(&self, on: bool) {
        self.configure(|c| c.range = on);
    }

    pub fn set_provenance(&self, on: bool) {
        self.configure(|c| c.provenance = on);
    }

    pub fn set_fail(&self, fail: Option<Fail>) {
        self.configure(|c| c.fail = fail);
    }

    /// A copy of what is served now.
    pub fn registry(&self) -> Registry {
        self.state().registry.clone()
    }

    /// Serves other bytes under a filename while the page keeps publishing the old hashes.
    pub fn replace_bytes(&self, filename: &str, bytes: Vec<u8>) {
        let mut state = self.state();
        let file = state
            .registry
            .projects
            .values_mut()
            .flatten()
            .find(|f| f.filename == filename)
            .unwrap_or_else(|| panic!("no file {filename} on the test index"));
        file.bytes = Some(bytes);
    }

    /// Takes a file off the index (its page entry, bytes and metadata), as a deletion does.
    pub fn remove_file(&self, filename: &str) {
        let mut state = self.state();
        let files = state
            .registry
            .projects
            .values_mut()
            .find(|files| files.iter().any(|f| f.filename == filename))
            .unwrap_or_else(|| panic!("no file {filename} on the test index"));
        files.retain(|f| f.filename != filename);
    }

    /// Flips one byte in the middle of a served file (its published hashes stay).
    pub fn tamper(&self, filename: &str) {
        let mut bytes = self
            .registry()
            .file(filename)
            .and_then(|f| f.bytes.clone())
            .unwrap_or_else(|| panic!("no bytes for {filename} on the test index"));
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0xff;
        self.replace_bytes(filename, bytes);
    }

    /// Serves `gzipped` as the JSON page of `project`, with `Content-Encoding: gzip`.
    pub fn serve_gzipped_page(&self, project: &str, gzipped: Vec<u8>) {
        self.state().gzipped_pages.insert(normalise(project), gzipped);
    }

    /// Adds a file while serving (a new upload).
    pub fn add_file(&self, project: &str, file: File) {
        self.state().registry.add(project, file);
    }

    pub fn publish(&self, release: &Release) {
        self.state().registry.publish(release);
    }

    pub fn log(&self) -> Vec<Logged> {
        self.state().log.clone()
    }

    /// How many requests asked for this path (`/simple/a/`, `/files/a-1.0-py3-none-any.whl`).
    pub fn requests(&self, path: &str) -> usize {
        self.state().log.iter().filter(|l| l.path == path).count()
    }

    /// Body bytes sent for this path so far, over all requests (a client that drops a response
    /// early stops the count, give or take the socket buffers).
    pub fn bytes_sent(&self, path: &str) -> u64 {
        self.state().sent.get(path).copied().unwrap_or_default()
    }

    pub fn clear_log(&self) {
        self.state().log.clear();
    }
}

impl Drop for IndexServer {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        // A connection of our own wakes the acceptor so that it sees the flag.
        let _ = TcpStream::connect(self.base.trim_start_matches("http://"));
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

/// A response before it is sent: computed under the lock, sent outside it.
struct Reply {
    status: u16,
    content_type: &'static str,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
    /// Zero bytes sent after `body` ([`File::padding`]).
    padding: u64,
    /// [`Config::trickle`].
    trickle: Option<Duration>,
}

impl Reply {
    fn new(status: u16, content_type: &'static str, body: impl Into<Vec<u8>>) -> Self {
        Self { status, content_type, headers: Vec::new(), body: body.into(), padding: 0, trickle: None }
    }

    fn len(&self) -> u64 {
        self.body.len() as u64 + self.padding
    }

    fn not_found() -> Self {
        Self::new(404, "text/plain", "not found\n")
    }
}

/// One request line and its headers.
struct Request {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
}

impl Request {
    fn header(&self, name: &str) -> Option<String> {
        self.headers.iter().find(|(field, _)| field.eq_ignore_ascii_case(name)).map(|(_, value)| value.clone())
    }
}

/// Reads one request (requests here have no body); `None` when the client is done.
fn read_request(reader: &mut impl BufRead) -> Option<Request> {
    let mut line = String::new();
    reader.read_line(&mut line).ok().filter(|read| *read > 0)?;
    let mut words = line.split_whitespace();
    let (method, target) = (words.next()?.to_string(), words.next()?.to_string());
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line).ok().filter(|read| *read > 0)?;
        let header = line.trim_end();
        if header.is_empty() {
            return Some(Request { method, target, headers });
        }
        let (field, value) = header.split_once(':')?;
        headers.push((field.trim().to_string(), value.trim().to_string()));
    }
}

/// Serves requests on one connection until the client closes it (HTTP/1.1 keep-alive).
fn serve_connection(stream: TcpStream, state: &Mutex<State>, base: &str) {
    // A client that vanishes without closing must not keep the thread forever.
    let _ = stream.set_read_timeout(Some(Duration::from_secs(60)));
    let Ok(mut writer) = stream.try_clone() else { return };
    let mut reader = BufReader::new(stream);
    while let Some(request) = read_request(&mut reader) {
        let head_only = request.method == "HEAD";
        let path = percent_decode(request.target.split(['?', '#']).next().unwrap_or_default());
        let reply = serve(&request, &path, state, base);
        let reason = match reply.status {
            200 => "OK",
            206 => "Partial Content",
            404 => "Not Found",
            416 => "Range Not Satisfiable",
            _ => "Status",
        };
        let mut head = format!(
            "HTTP/1.1 {} {reason}\r\nContent-Type: {}\r\nContent-Length: {}\r\n",
            reply.status,
            reply.content_type,
            reply.len()
        );
        for (name, value) in &reply.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        // The client may have gone away (a timeout test, a body dropped once read far enough).
        if writer.write_all(head.as_bytes()).is_err() || (!head_only && !send_body(&mut writer, &reply, &path, state)) {
            return;
        }
    }
}

/// Sends the body and its padding, counting what the network took; false once the client is gone.
fn send_body(writer: &mut TcpStream, reply: &Reply, path: &str, state: &Mutex<State>) -> bool {
    const CHUNK: usize = 64 * 1024;
    let zeros = [0u8; CHUNK];
    let padding = (0..reply.padding).step_by(CHUNK).map(|at| &zeros[..CHUNK.min((reply.padding - at) as usize)]);
    let mut sent = 0;
    let mut alive = true;
    let chunk_len = if reply.trickle.is_some() { 1 } else { CHUNK };
    for chunk in reply.body.chunks(chunk_len).chain(padding) {
        if let Some(pause) = reply.trickle {
            std::thread::sleep(pause);
        }
        if writer.write_all(chunk).is_err() {
            alive = false;
            break;
        }
        sent += chunk.len() as u64;
    }
    let mut state = state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    *state.sent.entry(path.to_string()).or_default() += sent;
    alive
}

fn serve(request: &Request, path: &str, state: &Mutex<State>, base: &str) -> Reply {
    let (accept, range) = (request.header("Accept"), request.header("Range"));
    let method = request.method.clone();
    let mut state = state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let throttled = state.config.throttle.filter(|_| !state.log.iter().any(|l| l.path == path));
    let mut reply = match throttled {
        Some(seconds) => {
            let mut reply = Reply::new(429, "text/plain", "too many requests\n");
            reply.headers.push(("Retry-After", seconds.to_string()));
            reply
        }
        None if matches!(method.as_str(), "GET" | "HEAD") => {
            route(&state, path, accept.as_deref(), range.as_deref(), base)
        }
        None => Reply::new(405, "text/plain", "method not allowed\n"),
    };
    reply.trickle = state.config.trickle;
    state.log.push(Logged {
        method,
        path: path.to_string(),
        accept,
        range,
        status: reply.status,
        content_type: reply.content_type.to_string(),
        body_len: reply.len() as usize,
    });
    reply
}

fn route(state: &State, path: &str, accept: Option<&str>, range: Option<&str>, base: &str) -> Reply {
    let config = state.config;
    match config.fail {
        Some(Fail::ServerError) => {
            return Reply::new(
                500,
                "text/html",
                "<!DOCTYPE html><html><head><title>500 Internal Server Error</title></head>\
                 <body><h1>Internal Server Error</h1><p>The server is on fire.</p></body></html>\n",
            );
        }
        Some(Fail::GarbageJson) => {
            return Reply::new(200, JSON_TYPE, "{\"meta\": {\"api-version\": \"1.1\"}, \"files\": [{\"filen");
        }
        None => {}
    }
    if let Some(rest) = path.strip_prefix("/simple") {
        let project = rest.trim_matches('/');
        let json = config.json && wants_json(accept);
        if project.is_empty() {
            return root_page(&state.registry, json, config.json);
        }
        if let Some(gzipped) = state.gzipped_pages.get(&normalise(project)) {
            let mut reply = Reply::new(200, JSON_TYPE, gzipped.clone());
            reply.headers.push(("Content-Encoding", "gzip".into()));
            return reply;
        }
        return match state.registry.projects.get(&normalise(project)) {
            Some(files) => project_page(&normalise(project), files, base, json, config),
            None => Reply::not_found(),
        };
    }
    let Some(filename) = path.strip_prefix("/files/") else { return Reply::not_found() };
    if let Some(wheel) = filename.strip_suffix(".metadata") {
        return match state.registry.file(wheel).and_then(|f| f.metadata.as_ref()) {
            Some(metadata) if config.pep658 => Reply::new(200, "application/octet-stream", metadata.clone()),
            _ => Reply::not_found(),
        };
    }
    if let Some(attested) = filename.strip_suffix(".provenance") {
        return match state.registry.file(attested).and_then(|f| f.provenance.as_ref()) {
            Some(provenance) if config.provenance => Reply::new(200, INTEGRITY_TYPE, provenance.clone()),
            _ => Reply::not_found(),
        };
    }
    match state.registry.file(filename) {
        Some(File { bytes: Some(bytes), padding: padding @ 1.., .. }) => {
            Reply { padding: *padding, ..Reply::new(200, "application/octet-stream", bytes.clone()) }
        }
        Some(File { bytes: Some(bytes), .. }) => {
            file_reply(bytes, if config.range { range } else { None }, config.range)
        }
        _ => Reply::not_found(),
    }
}

/// JSON when the client accepts a PEP 691 JSON type at all (q > 0); wildcards mean HTML.
fn wants_json(accept: Option<&str>) -> bool {
    accept.unwrap_or_default().split(',').any(|item| {
        let mut parts = item.split(';').map(str::trim);
        let media = parts.next().unwrap_or_default().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.strip_prefix("q=").or_else(|| p.strip_prefix("Q=")))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        q > 0.0 && matches!(media.as_str(), JSON_TYPE | "application/vnd.pypi.simple.latest+json")
    })
}

fn html_type(json_enabled: bool) -> &'static str {
    if json_enabled { HTML_TYPE } else { "text/html" }
}

fn root_page(registry: &Registry, json: bool, json_enabled: bool) -> Reply {
    if json {
        let projects: Vec<_> = registry.projects.keys().map(|name| serde_json::json!({ "name": name })).collect();
        let body = serde_json::json!({ "meta": { "api-version": API_VERSION }, "projects": projects });
        return Reply::new(200, JSON_TYPE, body.to_string());
    }
    let mut body = String::from("<!DOCTYPE html><html><body>\n");
    for name in registry.projects.keys() {
        body.push_str(&format!("<a href=\"{name}/\">{name}</a><br/>\n"));
    }
    body.push_str("</body></html>\n");
    Reply::new(200, html_type(json_enabled), body)
}

fn project_page(name: &str, files: &[File], base: &str, json: bool, config: Config) -> Reply {
    let metadata_hash = |f: &File| f.metadata.as_ref().filter(|_| config.pep658).map(|metadata| sha256_hex(metadata));
    let provenance_url = |f: &File| {
        f.provenance.as_ref().filter(|_| config.provenance).map(|_| format!("{base}/files/{}.provenance", f.filename))
    };
    if json {
        let mut versions: Vec<&str> = Vec::new();
        let entries: Vec<serde_json::Value> = files
            .iter()
            .map(|f| {
                if !f.version.is_empty() && !versions.contains(&f.version.as_str()) {
                    versions.push(&f.version);
                }
                let mut entry = serde_json::json!({
                    "filename": f.filename,
                    "url": format!("{base}/files/{}", f.filename),
                    "hashes": f.hashes,
                    "yanked": match &f.yanked {
                        None => serde_json::Value::Bool(false),
                        Some(reason) if reason.is_empty() => serde_json::Value::Bool(true),
                        Some(reason) => serde_json::Value::String(reason.clone()),
                    },
                });
                if let Some(spec) = &f.requires_python {
                    entry["requires-python"] = spec.as_str().into();
                }
                if let Some(size) = f.bytes.as_ref().map(|b| b.len() as u64 + f.padding).or(f.size) {
                    entry["size"] = size.into();
                }
                if let Some(time) = &f.upload_time {
                    entry["upload-time"] = time.as_str().into();
                }
                if let Some(hash) = metadata_hash(f) {
                    entry["core-metadata"] = serde_json::json!({ "sha256": hash });
                    entry["dist-info-metadata"] = serde_json::json!({ "sha256": hash });
                }
                // Null when there is none, as the index does.
                entry["provenance"] = provenance_url(f).into();
                entry
            })
            .collect();
        let mut body = serde_json::json!({
            "meta": { "api-version": API_VERSION },
            "name": name,
            "versions": versions,
            "files": entries,
        });
        if config.page_padding > 0 {
            body["x-padding"] = " ".repeat(config.page_padding).into();
        }
        return Reply::new(200, JSON_TYPE, body.to_string());
    }
    let mut body = format!(
        "<!DOCTYPE html>\n<html><head><meta name=\"pypi:repository-version\" content=\"{API_VERSION}\">\
         <title>Links for {name}</title></head><body><h1>Links for {name}</h1>\n"
    );
    for f in files {
        // Relative, as many indexes write them: from /simple/<name>/ to /files/<filename>.
        let mut href = format!("../../files/{}", f.filename);
        if let Some((alg, hex)) = ["sha256", "sha512", "sha384", "md5", "sha1"]
            .iter()
            .find_map(|alg| f.hashes.get(*alg).map(|hex| (alg, hex)))
        {
            href.push_str(&format!("#{alg}={hex}"));
        }
        body.push_str(&format!("<a href=\"{}\"", escape_html(&href)));
        if let Some(spec) = &f.requires_python {
            body.push_str(&format!(" data-requires-python=\"{}\"", escape_html(spec)));
        }
        if let Some(reason) = &f.yanked {
            body.push_str(&format!(" data-yanked=\"{}\"", escape_html(reason)));
        }
        if let Some(hash) = metadata_hash(f) {
            body.push_str(&format!(" data-core-metadata=\"sha256={hash}\" data-dist-info-metadata=\"sha256={hash}\""));
        }
        if let Some(url) = provenance_url(f) {
            body.push_str(&format!(" data-provenance=\"{}\"", escape_html(&url)));
        }
        body.push_str(&format!(">{}</a><br/>\n", escape_html(&f.filename)));
    }
    body.push_str("</body></html>\n");
    Reply::new(200, html_type(config.json), body)
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// 200 with the body, or 206/416 for a single `bytes=` range.
fn file_reply(bytes: &[u8], range: Option<&str>, ranges_on: bool) -> Reply {
    const OCTETS: &str = "application/octet-stream";
    let len = bytes.len();
    let whole = || {
        let mut reply = Reply::new(200, OCTETS, bytes.to_vec());
        if ranges_on {
            reply.headers.push(("Accept-Ranges", "bytes".into()));
        }
        reply
    };
    let Some(spec) = range.and_then(|r| r.trim().strip_prefix("bytes=")) else { return whole() };
    if spec.contains(',') {
        return whole(); // several ranges: allowed to answer with everything
    }
    let Some((first, last)) = spec.split_once('-') else { return whole() };
    let (first, last) = (first.trim(), last.trim());
    let bounds = match (first.parse::<usize>(), last.parse::<usize>()) {
        (Err(_), Ok(suffix)) if first.is_empty() => {
            (suffix > 0 && len > 0).then(|| (len.saturating_sub(suffix), len - 1))
        }
        (Ok(start), Err(_)) if last.is_empty() => (start < len).then(|| (start, len - 1)),
        (Ok(start), Ok(end)) if start <= end => (start < len).then(|| (start, end.min(len - 1))),
        _ => return whole(), // syntactically invalid: ignore the header
    };
    match bounds {
        Some((start, end)) => {
            let mut reply = Reply::new(206, OCTETS, bytes[start..=end].to_vec());
            reply.headers.push(("Content-Range", format!("bytes {start}-{end}/{len}")));
            reply.headers.push(("Accept-Ranges", "bytes".into()));
            reply
        }
        None => {
            let mut reply = Reply::new(416, "text/plain", "range not satisfiable\n");
            reply.headers.push(("Content-Range", format!("bytes */{len}")));
            reply
        }
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

// --- the requirements file hashlock writes -----------------------------------------------------

/// One requirement of a generated file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub version: String,
    pub marker: Option<String>,
    /// `sha256:<hex>`, in file order.
    pub hashes: Vec<String>,
    pub via: Vec<String>,
}

impl Entry {
    pub fn sha256s(&self) -> BTreeSet<String> {
        self.hashes.iter().filter_map(|h| h.strip_prefix("sha256:")).map(str::to_string).collect()
    }
}

/// A requirements file as hashlock writes it, parsed strictly: a requirement line, its
/// `--hash` continuation lines (each but the last ending in ` \`), then `# via` comments.
/// Any other shape panics with the line, so the tests also check pip's rules; and pip's own
/// parser must read the same requirements and no option ([`pip::assert_reads_back`]).
#[derive(Clone, Debug)]
pub struct LockFile {
    pub header: Vec<String>,
    pub entries: Vec<Entry>,
}

impl LockFile {
    pub fn parse(text: &str) -> Self {
        let mut header = Vec::new();
        let mut entries: Vec<Entry> = Vec::new();
        let mut continues = false;
        for (number, line) in text.lines().enumerate() {
            let at = || format!("line {}: {line:?}\n{text}", number + 1);
            let (body, backslash) = match line.strip_suffix(" \\") {
                Some(body) => (body, true),
                None => (line, false),
            };
            if let Some(hash) = body.trim_start().strip_prefix("--hash=") {
                let entry = entries.last_mut().unwrap_or_else(|| panic!("a hash before any requirement, {}", at()));
                assert!(continues, "a --hash line pip would not join to its requirement, {}", at());
                assert!(entry.via.is_empty(), "a --hash after a comment (pip ignores it), {}", at());
                assert!(line.starts_with("    "), "hash lines are indented, {}", at());
                entry.hashes.push(hash.to_string());
            } else if let Some(comment) = line.trim_start().strip_prefix('#') {
                assert!(!continues, "a comment inside a continuation, {}", at());
                assert!(!backslash, "a comment ending in a backslash, {}", at());
                match entries.last_mut() {
                    None => header.push(line.to_string()),
                    Some(entry) => {
                        let name = comment.trim().strip_prefix("via").unwrap_or(comment).trim();
                        if !name.is_empty() {
                            entry.via.push(name.to_string());
                        }
                    }
                }
            } else if line.trim().is_empty() {
                assert!(!continues, "a blank line inside a continuation, {}", at());
            } else {
                assert!(!continues, "a requirement inside a continuation, {}", at());
                let (requirement, marker) = match body.split_once(';') {
                    Some((r, m)) => (r.trim(), Some(m.trim().to_string())),
                    None => (body.trim(), None),
                };
                let (name, version) =
                    requirement.split_once("==").unwrap_or_else(|| panic!("not pinned with ==, {}", at()));
                entries.push(Entry {
                    name: name.trim().into(),
                    version: version.trim().into(),
                    marker,
                    hashes: Vec::new(),
                    via: Vec::new(),
                });
            }
            continues = backslash;
        }
        assert!(!continues, "the file ends inside a continuation:\n{text}");
        let lock = Self { header, entries };
        pip::assert_reads_back(text, &lock);
        lock
    }

    /// The file `generate -o` wrote, parsed (and read back by pip).
    pub fn read(path: &Path) -> Self {
        Self::parse(&std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
    }

    pub fn pins(&self) -> Vec<(String, String)> {
        self.entries.iter().map(|e| (e.name.clone(), e.version.clone())).collect()
    }

    pub fn entry(&self, name: &str) -> &Entry {
        self.entries.iter().find(|e| e.name == name).unwrap_or_else(|| panic!("{name} is not in the file: {self:#?}"))
    }

    /// Header and pins, no hashes: what a snapshot should show.
    pub fn summary(&self) -> String {
        let mut out = self.header.join("\n");
        for entry in &self.entries {
            out.push_str(&format!("\n{}=={}", entry.name, entry.version));
            if let Some(marker) = &entry.marker {
                out.push_str(&format!(" ; {marker}"));
            }
        }
        out.push('\n');
        out
    }

    /// Checks the file pins exactly `expected` (`name==version`, any order) sorted by name,
    /// and that each pin carries the sha256 of every file of its version on `registry`.
    pub fn assert_pins_and_hashes(&self, registry: &Registry, expected: &[&str]) {
        let names: Vec<&str> = self.entries.iter().map(|e| e.name.as_str()).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(names, sorted, "requirements are not sorted by name");
        let mut want: Vec<String> = expected.iter().map(|p| p.to_string()).collect();
        want.sort_by(|a, b| a.split("==").next().cmp(&b.split("==").next()));
        let got: Vec<String> = self.entries.iter().map(|e| format!("{}=={}", e.name, e.version)).collect();
        assert_eq!(got, want, "pins");
        for entry in &self.entries {
            let published = registry.sha256s(&entry.name, &entry.version);
            assert!(!published.is_empty(), "{}=={} has no files on the index", entry.name, entry.version);
            assert_eq!(entry.sha256s(), published, "sha256 of every file of {}=={}", entry.name, entry.version);
            assert_eq!(entry.hashes.len(), published.len(), "{}: duplicate or non-sha256 hashes", entry.name);
        }
    }
}

// --- running hashlock --------------------------------------------------------------------------

/// Environment variables a child must not inherit: pip's, and hashlock's cache location.
pub fn inherited_settings() -> Vec<String> {
    std::env::vars_os()
        .filter_map(|(key, _)| key.into_string().ok())
        .filter(|key| key.starts_with("PIP_") || key == "HASHLOCK_CACHE_DIR")
        .collect()
}

/// The hashlock binary with no pip configuration from the machine running the tests.
pub fn hashlock() -> assert_cmd::Command {
    let mut command = assert_cmd::cargo::cargo_bin_cmd!("hashlock");
    for key in inherited_settings() {
        command.env_remove(key);
    }
    command.env("PIP_CONFIG_FILE", "/dev/null");
    command
}

/// `hashlock generate --index-url <server> --python-version 3.11 --python-platform linux --no-cache ARGS...`
/// (ARGS last, so the caller can add the value of a trailing `-o` or `-r`).
pub fn generate(index_url: &str, args: &[&str]) -> assert_cmd::Command {
    generate_for(index_url, "3.11", "linux", args)
}

/// `app` → `lib` (three wheels and an sdist) → `core`; `tool` stands alone: a small tree with a
/// package of many files, for the audit and verify tests.
pub fn layered_tree() -> Registry {
    Registry::new().with([
        Release::new("app", "1.0").requires(&["lib>=1", "tool"]),
        Release::new("lib", "1.0")
            .requires(&["core"])
            .wheels(&["cp311-cp311-manylinux_2_17_x86_64", "cp311-cp311-win_amd64", "cp311-cp311-macosx_11_0_arm64"])
            .with_sdist(),
        Release::new("core", "2.0").with_sdist(),
        Release::new("tool", "1.0"),
    ])
}

/// `generate` for another target.
pub fn generate_for(index_url: &str, python: &str, platform: &str, args: &[&str]) -> assert_cmd::Command {
    let mut command = hashlock();
    command.args(["generate", "--index-url", index_url, "--python-version", python, "--python-platform", platform]);
    command.arg("--no-cache").args(args);
    command
}

/// Runs a command that must succeed and parses the requirements file it printed.
pub fn lock_from_stdout(command: &mut assert_cmd::Command) -> LockFile {
    let output = command.assert().success().get_output().stdout.clone();
    LockFile::parse(&String::from_utf8(output).expect("UTF-8 output"))
}

/// A child process (pip, python) with no pip settings from the machine running the tests.
pub fn without_pip_settings(command: &mut std::process::Command) -> &mut std::process::Command {
    for key in inherited_settings() {
        command.env_remove(key);
    }
    command.env("PIP_CONFIG_FILE", "/dev/null")
}

/// `hashlock SUBCOMMAND --index-url <server> --python-version 3.11 --python-platform linux
/// --no-cache ARGS...` for `report` and `audit`.
pub fn hashlock_at(subcommand: &str, index_url: &str, args: &[&str]) -> assert_cmd::Command {
    let mut command = hashlock();
    command.args([subcommand, "--index-url", index_url, "--python-version", "3.11", "--python-platform", "linux"]);
    command.arg("--no-cache").args(args);
    command
}

/// What a command printed and how it exited; `stdout` with the loopback ports and the given
/// directories replaced by stable placeholders, so that it can be a snapshot.
#[derive(Clone, Debug)]
pub struct Ran {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Ran {
    /// Runs `command` (it must exit, not be killed) and normalises its output.
    pub fn of(command: &mut assert_cmd::Command, dirs: &[&Path]) -> Self {
        let output = command.output().expect("hashlock runs");
        let code = output.status.code().expect("hashlock exits with a status");
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(!stderr.contains("panicked"), "hashlock panicked:\n{stderr}");
        let mut stdout = String::from_utf8(output.stdout).expect("UTF-8 output");
        for dir in dirs {
            stdout = stdout.replace(&format!("{}/", dir.display()), "[DIR]/");
        }
        Self { code, stdout: stable_ports(&stdout), stderr }
    }

    /// The JSON document printed, checked against the README's schema.
    pub fn json(&self) -> serde_json::Value {
        let value: serde_json::Value =
            serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", self.stdout));
        check_report_schema(&value);
        value
    }

    /// Every finding of the JSON report, the packages' and the file's, as `(code, package,
    /// location)` (`""` for none).
    pub fn findings(&self) -> Vec<(String, String, String)> {
        let report = self.json();
        let of_packages = report["packages"].as_array().into_iter().flatten().filter_map(|p| p["findings"].as_array());
        let of_file = report["findings"].as_array().into_iter();
        of_packages
            .chain(of_file)
            .flatten()
            .map(|f| {
                let field = |key: &str| f[key].as_str().unwrap_or_default().to_string();
                (field("code"), field("package"), field("location"))
            })
            .collect()
    }
}

/// `127.0.0.1:41234` → `127.0.0.1:PORT`.
pub fn stable_ports(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("127.0.0.1:") {
        let (before, after) = rest.split_at(at + "127.0.0.1:".len());
        out.push_str(before);
        let digits = after.find(|c: char| !c.is_ascii_digit()).unwrap_or(after.len());
        out.push_str(if digits > 0 { "PORT" } else { "" });
        rest = &after[digits..];
    }
    out.push_str(rest);
    out
}

/// The PEP 740 findings, which do not stop `pip install --require-hashes`.
fn is_provenance(code: &str) -> bool {
    code.starts_with("provenance-") || code.starts_with("publisher-")
}

/// The finding codes the README's table lists.
pub const FINDING_CODES: [&str; 36] = [
    "missing-hash",
    "weak-hash-only",
    "mixed-algorithms",
    "index-disagreement",
    "mixed-indexes",
    "yanked",
    "sdist-only",
    "no-file-for-target",
    "unpinned",
    "missing-dependency",
    "hash-mismatch",
    "incomplete-hashes",
    "unhashed-requirement",
    "orphaned-hash",
    "unhashable",
    "not-on-index",
    "local-mismatch",
    "uncovered-file",
    "no-local-file",
    "file-option",
    "empty-lock",
    "size-mismatch",
    "unverifiable-hash",
    "installed-file-modified",
    "installed-file-missing",
    "unowned-file",
    "not-in-lock",
    "not-installed",
    "unverifiable",
    "provenance-invalid",
    "provenance-missing",
    "provenance-dropped",
    "publisher-changed",
    "publisher-mismatch",
    "computed-hash",
    "index-shadowing",
];

/// The README's values of a file's `hash_source`.
const HASH_SOURCES: [&str; 4] = ["json-page", "html-fragment", "none", "computed"];

/// Checks a `--format json` document against the schema in the README ("JSON schema",
/// `schema_version` 1): every key there, with its type and, for enums, its allowed values;
/// and that the summary agrees with the packages and findings it sums up.
pub fn check_report_schema(report: &serde_json::Value) {
    use serde_json::Value;
    let object = |value: &Value, what: &str| -> serde_json::Map<String, Value> {
        value.as_object().unwrap_or_else(|| panic!("{what} is not an object: {value}")).clone()
    };
    let string = |object: &serde_json::Map<String, Value>, key: &str, what: &str| -> String {
        match object.get(key) {
            Some(Value::String(text)) => text.clone(),
            other => panic!("{what}.{key} is not a string: {other:?}"),
        }
    };
    let boolean = |object: &serde_json::Map<String, Value>, key: &str, what: &str| -> bool {
        object.get(key).and_then(Value::as_bool).unwrap_or_else(|| panic!("{what}.{key} is not a boolean"))
    };
    let array = |object: &serde_json::Map<String, Value>, key: &str, what: &str| -> Vec<Value> {
        object.get(key).and_then(Value::as_array).cloned().unwrap_or_else(|| panic!("{what}.{key} is not an array"))
    };
    let strings = |object: &serde_json::Map<String, Value>, key: &str, what: &str| -> Vec<String> {
        array(object, key, what)
            .iter()
            .map(|v| v.as_str().unwrap_or_else(|| panic!("{what}.{key} holds a non-string: {v}")).to_string())
            .collect()
    };
    let one_of = |value: String, allowed: &[&str], what: &str| {
        assert!(allowed.contains(&value.as_str()), "{what} is {value:?}, not one of {allowed:?}");
        value
    };
    let finding = |value: &Value, what: &str| -> (String, String) {
        let f = object(value, what);
        let keys: BTreeSet<&str> = f.keys().map(String::as_str).collect();
        assert_eq!(keys, BTreeSet::from(["severity", "code", "package", "location", "message"]), "{what} keys");
        let severity = one_of(string(&f, "severity", what), &["error", "warning", "info"], &format!("{what}.severity"));
        let code = one_of(string(&f, "code", what), &FINDING_CODES, &format!("{what}.code"));
        for key in ["package", "location"] {
            assert!(matches!(f[key], Value::Null | Value::String(_)), "{what}.{key} is not a string or null");
        }
        if let Some(location) = f["location"].as_str() {
            let line = location.rsplit_once(':').map(|(_, line)| line.parse::<usize>());
            assert!(matches!(line, Some(Ok(n)) if n > 0), "{what}.location is not file:line: {location}");
        }
        assert!(!string(&f, "message", what).is_empty(), "{what}.message is empty");
        (severity, code)
    };

    let top = object(report, "the report");
    assert_eq!(top.get("schema_version").and_then(Value::as_u64), Some(1), "schema_version");
    assert!(string(&top, "tool", "report").starts_with("hashlock "), "tool");
    string(&top, "target", "report");
    strings(&top, "indexes", "report");

    let summary = object(&top["summary"], "summary");
    let count = |key: &str| -> u64 {
        summary.get(key).and_then(Value::as_u64).unwrap_or_else(|| panic!("summary.{key} is not an integer"))
    };
    for key in [
        "packages",
        "files",
        "wheels",
        "sdists",
        "files_with_sha256",
        "files_without_hash",
        "weak_only_files",
        "files_with_verified_provenance",
        "packages_with_findings",
        "yanked",
        "sdist_only",
        "errors",
        "warnings",
        "infos",
    ] {
        count(key);
    }
    let feasible = boolean(&summary, "require_hashes_feasible", "summary");

    let mut severities: Vec<String> = Vec::new();
    // Errors other than provenance ones: what stops `pip install --require-hashes`.
    let mut hash_errors = 0;
    let packages = array(&top, "packages", "report");
    let (mut files, mut wheels, mut sdists, mut with_findings, mut yanked, mut sdist_only) = (0, 0, 0, 0, 0, 0);
    let (mut with_sha256, mut without_hash, mut weak_only, mut verified) = (0, 0, 0, 0);
    for (i, package) in packages.iter().enumerate() {
        let what = format!("packages[{i}]");
        let p = object(package, &what);
        let name = string(&p, "name", &what);
        assert_eq!(name, normalise(&name), "{what}.name is normalised");
        string(&p, "version", &what);
        strings(&p, "required_by", &what);
        let target = one_of(string(&p, "target_file", &what), &["wheel", "sdist-only", "none"], &what);
        sdist_only += u64::from(target == "sdist-only");
        yanked += u64::from(boolean(&p, "yanked", &what));
        let algorithms = strings(&p, "algorithms", &what);
        let mut sorted = algorithms.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(algorithms, sorted, "{what}.algorithms are sorted and distinct");
        for source in strings(&p, "hash_sources", &what) {
            one_of(source, &HASH_SOURCES, &format!("{what}.hash_sources"));
        }
        for (j, file) in array(&p, "files", &what).iter().enumerate() {
            let what = format!("{what}.files[{j}]");
            let f = object(file, &what);
            string(&f, "filename", &what);
            let kind = one_of(string(&f, "kind", &what), &["wheel", "sdist", "other"], &format!("{what}.kind"));
            files += 1;
            wheels += u64::from(kind == "wheel");
            sdists += u64::from(kind == "sdist");
            let hashes = object(&f["hashes"], &format!("{what}.hashes"));
            with_sha256 += u64::from(hashes.contains_key("sha256"));
            without_hash += u64::from(hashes.is_empty());
            weak_only += u64::from(!hashes.is_empty() && hashes.keys().all(|alg| alg == "md5" || alg == "sha1"));
            for (algorithm, hex) in hashes {
                let hex = hex.as_str().unwrap_or_else(|| panic!("{what}.hashes.{algorithm} is not a string"));
                assert!(algorithms.contains(&algorithm), "{what}: {algorithm} missing from the package's algorithms");
                assert!(hex.chars().all(|c| c.is_ascii_hexdigit()), "{what}.hashes.{algorithm} is not hex");
            }
            one_of(string(&f, "hash_source", &what), &HASH_SOURCES, &what);
            boolean(&f, "yanked", &what);
            // Left out only where provenance was not checked.
            if let Some(provenance) = f.get("provenance") {
                let what = format!("{what}.provenance");
                let v = object(provenance, &what);
                let status = one_of(string(&v, "status", &what), &["verified", "invalid", "absent"], &what);
                verified += u64::from(status == "verified");
                let keys: BTreeSet<&str> = v.keys().map(String::as_str).collect();
                let expected = match status.as_str() {
                    "verified" => BTreeSet::from(["status", "publisher"]),
                    "invalid" => BTreeSet::from(["status", "reason"]),
                    _ => BTreeSet::from(["status"]),
                };
                assert_eq!(keys, expected, "{what} keys");
                if let Some(publisher) = v.get("publisher") {
                    string(&object(publisher, &what), "kind", &format!("{what}.publisher"));
                }
            }
        }
        for (j, publisher) in array(&p, "publishers", &what).iter().enumerate() {
            string(&object(publisher, &what), "kind", &format!("{what}.publishers[{j}]"));
        }
        let findings = array(&p, "findings", &what);
        with_findings += u64::from(!findings.is_empty());
        for (j, value) in findings.iter().enumerate() {
            let (severity, code) = finding(value, &format!("{what}.findings[{j}]"));
            hash_errors += usize::from(severity == "error" && !is_provenance(&code));
            assert_eq!(value["package"].as_str(), Some(name.as_str()), "{what}.findings[{j}] is filed under it");
            severities.push(severity);
        }
    }
    for (i, value) in array(&top, "findings", "report").iter().enumerate() {
        let (severity, code) = finding(value, &format!("findings[{i}]"));
        hash_errors += usize::from(severity == "error" && !is_provenance(&code));
        severities.push(severity);
    }
    let tally = |severity: &str| severities.iter().filter(|s| *s == severity).count() as u64;
    let expected = [
        ("packages", packages.len() as u64),
        ("files", files),
        ("wheels", wheels),
        ("sdists", sdists),
        ("files_with_sha256", with_sha256),
        ("files_without_hash", without_hash),
        ("weak_only_files", weak_only),
        ("files_with_verified_provenance", verified),
        ("packages_with_findings", with_findings),
        ("yanked", yanked),
        ("sdist_only", sdist_only),
        ("errors", tally("error")),
        ("warnings", tally("warning")),
        ("infos", tally("info")),
    ];
    for (key, want) in expected {
        assert_eq!(count(key), want, "summary.{key} disagrees with the report's contents");
    }
    assert_eq!(feasible, hash_errors == 0, "require_hashes_feasible is true exactly when no hash finding is an error");
}
