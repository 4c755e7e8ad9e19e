//! `verify --installed`: every file of an installed environment against the wheel it came
//! from (found in the lock and on the index by name, version and WHEEL tags), and every file
//! in site-packages and the scripts directory that no distribution put there.
//!
//! The wheel's members are the truth, not RECORD: some wheels carry wrong RECORD hashes,
//! and RECORD is a file in the environment anyone who can change a module can change too.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fs::File;
use std::io::Read;
use std::path::{Component, Path, PathBuf};
use std::process::Command;
use std::str::FromStr;

use pep508_rs::pep440_rs::Version;
use pep508_rs::{MarkerEnvironment, MarkerEnvironmentBuilder, PackageName};
use rayon::prelude::*;
use reqwest::Url;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::check::findings::{Code, Finding, Severity};
use crate::check::verify::hash_files;
use crate::dist::{DistFile, DistFilename, WheelFilename, lower_hex};
use crate::index::IndexClient;
use crate::index::http::{HttpError, spool_hashed};
use crate::lockfile::{Artifact, Lockfile, Package};
use crate::metadata::MAX_DOWNLOAD_SIZE;

#[derive(Debug, thiserror::Error)]
pub enum InstalledError {
    #[error("{python}: cannot inspect the environment: {message}")]
    Inspect { python: String, message: String },
    #[error("{path}: {source}")]
    Read { path: String, source: std::io::Error },
}

/// What the environment's own interpreter says about itself.
#[derive(Clone, Debug)]
pub struct Environment {
    pub executable: PathBuf,
    pub prefix: PathBuf,
    pub purelib: PathBuf,
    pub platlib: PathBuf,
    pub scripts: PathBuf,
    /// `3.11.7`.
    pub python_version: String,
    /// A virtualenv (its prefix is not the base interpreter's): its scripts directory holds
    /// nothing but what installers put there, and the venv's own files.
    pub is_virtualenv: bool,
    pub windows: bool,
    pub markers: MarkerEnvironment,
}

/// Inspects the interpreter with `-I -S`: site-packages' `.pth` files (which this check is
/// about) do not run. Without `site`, a virtualenv's prefix is found as `site` finds it, from
/// the `pyvenv.cfg` next to the executable or one directory up.
const INSPECT: &str = r#"
import json, os, platform, sys, sysconfig
here = os.path.dirname(os.path.abspath(sys.executable))
cfgs = [os.path.join(d, "pyvenv.cfg") for d in (here, os.path.dirname(here))]
prefix = next((os.path.dirname(c) for c in cfgs if os.path.isfile(c)), sys.prefix)
venv = os.path.normcase(prefix) != os.path.normcase(sys.base_prefix)
scheme = "venv" if venv and "venv" in sysconfig.get_scheme_names() else sysconfig.get_default_scheme()
if venv and scheme != "venv":
    scheme = "nt" if os.name == "nt" else "posix_prefix"
paths = sysconfig.get_paths(scheme, vars={"base": prefix, "platbase": prefix})
print(json.dumps({
    "executable": sys.executable, "prefix": prefix, "venv": venv,
    "purelib": paths["purelib"], "platlib": paths["platlib"], "scripts": paths["scripts"],
    "implementation_name": sys.implementation.name, "implementation_version": platform.python_version(),
    "os_name": os.name, "platform_machine": platform.machine(),
    "platform_python_implementation": platform.python_implementation(),
    "platform_release": platform.release(), "platform_system": platform.system(),
    "platform_version": platform.version(), "python_full_version": platform.python_version(),
    "python_version": "%d.%d" % sys.version_info[:2], "sys_platform": sys.platform,
}))
"#;

#[derive(Deserialize)]
struct Inspected {
    executable: PathBuf,
    prefix: PathBuf,
    venv: bool,
    purelib: PathBuf,
    platlib: PathBuf,
    scripts: PathBuf,
    implementation_name: String,
    implementation_version: String,
    os_name: String,
    platform_machine: String,
    platform_python_implementation: String,
    platform_release: String,
    platform_system: String,
    platform_version: String,
    python_full_version: String,
    python_version: String,
    sys_platform: String,
}

/// The interpreter of `env`: a virtualenv directory's python, or `env` itself; without one,
/// the active virtualenv's (`VIRTUAL_ENV`), else `python3` on PATH.
pub fn interpreter_for(env: Option<&Path>) -> PathBuf {
    let in_venv = |dir: &Path| {
        let unix = dir.join("bin").join("python");
        let windows = dir.join("Scripts").join("python.exe");
        if windows.exists() && !unix.exists() { windows } else { unix }
    };
    match env {
        Some(path) if path.is_dir() => in_venv(path),
        Some(path) => path.to_path_buf(),
        None => match std::env::var_os("VIRTUAL_ENV").filter(|v| !v.is_empty()) {
            Some(venv) => in_venv(Path::new(&venv)),
            None => PathBuf::from("python3"),
        },
    }
}

pub fn inspect(python: &Path) -> Result<Environment, InstalledError> {
    let failed = |message: String| InstalledError::Inspect { python: python.display().to_string(), message };
    let output = Command::new(python)
        .args(["-I", "-S", "-c", INSPECT])
        .output()
        .map_err(|e| failed(format!("cannot run it: {e}")))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(failed(stderr.lines().last().unwrap_or("it failed").to_string()));
    }
    let found: Inspected =
        serde_json::from_slice(&output.stdout).map_err(|e| failed(format!("unexpected output: {e}")))?;
    let markers = MarkerEnvironment::try_from(MarkerEnvironmentBuilder {
        implementation_name: &found.implementation_name,
        implementation_version: &found.implementation_version,
        os_name: &found.os_name,
        platform_machine: &found.platform_machine,
        platform_python_implementation: &found.platform_python_implementation,
        platform_release: &found.platform_release,
        platform_system: &found.platform_system,
        platform_version: &found.platform_version,
        python_full_version: &found.python_full_version,
        python_version: &found.python_version,
        sys_platform: &found.sys_platform,
    })
    .map_err(|e| failed(format!("marker values: {e}")))?;
    Ok(Environment {
        windows: found.os_name == "nt",
        executable: found.executable,
        prefix: normalize(&found.prefix),
        purelib: normalize(&found.purelib),
        platlib: normalize(&found.platlib),
        scripts: normalize(&found.scripts),
        python_version: found.python_full_version,
        is_virtualenv: found.venv,
        markers,
    })
}

impl Environment {
    /// purelib and platlib, once each.
    pub fn site_dirs(&self) -> Vec<&Path> {
        let mut dirs = vec![self.purelib.as_path()];
        if self.platlib != self.purelib {
            dirs.push(&self.platlib);
        }
        dirs
    }

    /// `(major, minor)`.
    fn minor_version(&self) -> (u32, u32) {
        let mut parts = self.python_version.split('.').map(|p| p.parse().unwrap_or(0));
        (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
    }

    /// The packages `python -m venv` installs by itself: pip, and before 3.12 setuptools.
    pub fn bootstraps(&self, name: &PackageName) -> bool {
        name.as_ref() == "pip" || (name.as_ref() == "setuptools" && self.minor_version() < (3, 12))
    }

    /// `path` relative to the prefix, for messages.
    pub fn show(&self, path: &Path) -> String {
        path.strip_prefix(&self.prefix).unwrap_or(path).display().to_string()
    }

    /// Whether `path` could be the environment's interpreter in a shebang: the executable, or a
    /// `python*` in the scripts directory.
    fn is_own_python(&self, path: &str) -> bool {
        let path = Path::new(path.trim_matches('"'));
        path == self.executable
            || (normalize(path).parent() == Some(&self.scripts)
                && path.file_name().is_some_and(|n| n.to_string_lossy().starts_with("python")))
    }
}

/// How a distribution came to be installed, as its metadata directory says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// From a wheel, by name (no `direct_url.json`): an index's, or one built from its sdist.
    Index,
    /// From a URL or a local file or directory (`direct_url.json`).
    Url(String),
    Editable(String),
    /// An `.egg-info`: no RECORD, no WHEEL.
    EggInfo,
}

/// One installed distribution.
#[derive(Clone, Debug)]
pub struct Installed {
    pub name: PackageName,
    pub version: Version,
    pub metadata_dir: PathBuf,
    /// The RECORD's files, absolute, with their sha256 (hex) where RECORD gives one.
    pub record: Vec<(PathBuf, Option<String>)>,
    /// The WHEEL file's `Tag` lines.
    pub tags: BTreeSet<String>,
    pub root_is_purelib: bool,
    pub origin: Origin,
}

impl Installed {
    pub fn describe(&self) -> String {
        format!("{} {}", self.name, self.version)
    }
}

/// Every distribution in the environment's site directories, by name.
pub fn inventory(env: &Environment) -> Result<Vec<Installed>, InstalledError> {
    let mut found = Vec::new();
    for site in env.site_dirs() {
        let entries = match std::fs::read_dir(site) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            other => other.map_err(read_error(site))?,
        };
        for entry in entries {
            let path = entry.map_err(read_error(site))?.path();
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            if let Some(stem) = name.strip_suffix(".dist-info").filter(|_| path.is_dir()) {
                if let Some((name, version)) = name_and_version(stem) {
                    found.push(read_dist_info(site, &path, name, version)?);
                }
            } else if let Some(stem) = name.strip_suffix(".egg-info")
                && let Some((name, version)) = name_and_version(stem.split("-py").next().unwrap_or(stem))
            {
                found.push(read_egg_info(&path, name, version));
            }
        }
    }
    found.sort_by(|a, b| (&a.name, &a.version).cmp(&(&b.name, &b.version)));
    Ok(found)
}

fn read_error(path: &Path) -> impl Fn(std::io::Error) -> InstalledError + '_ {
    move |source| InstalledError::Read { path: path.display().to_string(), source }
}

/// `name-version` of a metadata directory's name.
fn name_and_version(stem: &str) -> Option<(PackageName, Version)> {
    let (name, version) = stem.split_once('-')?;
    Some((PackageName::from_str(name).ok()?, Version::from_str(version).ok()?))
}

fn read_dist_info(site: &Path, dir: &Path, name: PackageName, version: Version) -> Result<Installed, InstalledError> {
    let record_path = dir.join("RECORD");
    let record = match std::fs::read(&record_path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        other => parse_record(&String::from_utf8_lossy(&other.map_err(read_error(&record_path))?), site),
    };
    let wheel = std::fs::read_to_string(dir.join("WHEEL")).unwrap_or_default();
    let tags = wheel_field(&wheel, "Tag").map(str::to_string).collect();
    let root_is_purelib = wheel_field(&wheel, "Root-Is-Purelib").any(|v| v.eq_ignore_ascii_case("true"));
    let origin = match std::fs::read(dir.join("direct_url.json")) {
        Ok(bytes) => {
            let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
            let url = json["url"].as_str().unwrap_or("an unreadable direct_url.json").to_string();
            if json["dir_info"]["editable"].as_bool() == Some(true) { Origin::Editable(url) } else { Origin::Url(url) }
        }
        Err(_) => Origin::Index,
    };
    Ok(Installed { name, version, metadata_dir: dir.to_path_buf(), record, tags, root_is_purelib, origin })
}

/// The values of a `Key: value` field of a WHEEL file.
fn wheel_field<'a>(text: &'a str, key: &'a str) -> impl Iterator<Item = &'a str> {
    text.lines().filter_map(move |line| {
        line.split_once(':').filter(|(k, _)| k.trim().eq_ignore_ascii_case(key)).map(|(_, v)| v.trim())
    })
}

/// An `.egg-info` directory or file; its `installed-files.txt` (when there is one) says what
/// it owns, without hashes.
fn read_egg_info(path: &Path, name: PackageName, version: Version) -> Installed {
    let listed = std::fs::read_to_string(path.join("installed-files.txt")).unwrap_or_default();
    let mut record: Vec<(PathBuf, Option<String>)> =
        listed.lines().filter(|l| !l.trim().is_empty()).map(|l| (normalize(&path.join(l.trim())), None)).collect();
    if path.is_dir() {
        record.extend(walk(path).into_iter().map(|file| (file, None)));
    } else {
        record.push((path.to_path_buf(), None));
    }
    Installed {
        name,
        version,
        metadata_dir: path.to_path_buf(),
        record,
        tags: BTreeSet::new(),
        root_is_purelib: true,
        origin: Origin::EggInfo,
    }
}

/// RECORD's CSV rows (`path,sha256=<urlsafe base64>,size`; paths relative to `site`, quoted
/// when they hold a comma or a quote).
fn parse_record(text: &str, site: &Path) -> Vec<(PathBuf, Option<String>)> {
    text.lines()
        .filter_map(|line| {
            let fields = csv_fields(line);
            let path = fields.first().filter(|p| !p.is_empty())?;
            let sha256 = fields.get(1).and_then(|h| h.strip_prefix("sha256=")).and_then(b64_to_hex);
            Some((normalize(&site.join(path)), sha256))
        })
        .collect()
}

fn csv_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let (mut quoted, mut chars) = (false, line.trim_end_matches('\r').chars().peekable());
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                fields.last_mut().map(|f| f.push('"')).unwrap_or_default();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => fields.push(String::new()),
            c => fields.last_mut().map(|f| f.push(c)).unwrap_or_default(),
        }
    }
    fields
}

/// Unpadded urlsafe base64 (RECORD's digests) as lowercase hex.
fn b64_to_hex(text: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(text.len() * 3 / 4);
    let (mut bits, mut count) = (0u32, 0);
    for c in text.trim_end_matches('=').bytes() {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            _ => return None,
        };
        bits = (bits << 6) | u32::from(value);
        count += 6;
        if count >= 8 {
            count -= 8;
            bytes.push((bits >> count) as u8);
        }
    }
    Some(lower_hex(&bytes))
}

/// `path` with `.` and `..` resolved lexically, not through links (RECORD reaches the scripts
/// directory with `../../../bin/x`).
pub(crate) fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// Every file under `dir` (symlinks not followed into directories), sorted.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            match entry.file_type() {
                Ok(kind) if kind.is_dir() => pending.push(entry.path()),
                Ok(_) => files.push(normalize(&entry.path())),
                Err(_) => {}
            }
        }
    }
    files.sort();
    files
}

/// What hashlock keeps of a verified wheel (cached by the wheel's sha256): enough to judge
/// an installation without the wheel.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WheelSummary {
    pub filename: String,
    /// Member path → its digest.
    pub members: BTreeMap<String, Member>,
    /// The `.dist-info/entry_points.txt` member's text, empty when there is none.
    pub entry_points: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub sha256: String,
    pub size: u64,
    /// For a `.data/scripts` file whose first line starts `#!python` (which pip rewrites):
    /// the sha256 of what follows that line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_shebang: Option<String>,
}

/// Largest wheel member hashlock reads (decompressed): more is a zip bomb.
const MAX_MEMBER_SIZE: u64 = 4 * 1024 * 1024 * 1024;
/// Largest script or `entry_points.txt` read into memory.
const MAX_TEXT_SIZE: u64 = 16 * 1024 * 1024;

/// Hashes every member of a wheel, streamed, each bounded by [`MAX_MEMBER_SIZE`].
pub fn summarize_wheel(file: File, filename: &str) -> Result<WheelSummary, String> {
    let mut archive = zip::ZipArchive::new(file).map_err(|e| format!("not a zip archive: {e}"))?;
    let mut summary = WheelSummary { filename: filename.to_string(), ..WheelSummary::default() };
    for index in 0..archive.len() {
        let member = archive.by_index(index).map_err(|e| format!("member {index}: {e}"))?;
        let name = member.name().to_string();
        if name.ends_with('/') {
            continue;
        }
        let (script, entry_points) = (is_data_script(&name), is_entry_points(&name));
        let member = if script || entry_points {
            // Small texts, read whole: a script's first line is judged apart from the rest.
            let mut bytes = Vec::new();
            member.take(MAX_TEXT_SIZE + 1).read_to_end(&mut bytes).map_err(|e| format!("{name}: {e}"))?;
            if bytes.len() as u64 > MAX_TEXT_SIZE {
                return Err(format!("{name}: larger than {MAX_TEXT_SIZE} bytes"));
            }
            if entry_points {
                summary.entry_points = String::from_utf8_lossy(&bytes).into_owned();
            }
            let after_shebang = (script && bytes.starts_with(b"#!python")).then(|| {
                let rest = bytes.iter().position(|&b| b == b'\n').map_or(&[][..], |newline| &bytes[newline + 1..]);
                lower_hex(&Sha256::digest(rest))
            });
            Member { sha256: lower_hex(&Sha256::digest(&bytes)), size: bytes.len() as u64, after_shebang }
        } else {
            let mut hasher = Sha256::new();
            let size = std::io::copy(&mut member.take(MAX_MEMBER_SIZE + 1), &mut hasher)
                .map_err(|e| format!("{name}: {e}"))?;
            if size > MAX_MEMBER_SIZE {
                return Err(format!("{name}: larger than {MAX_MEMBER_SIZE} bytes once decompressed"));
            }
            Member { sha256: lower_hex(&hasher.finalize()), size, after_shebang: None }
        };
        summary.members.insert(name, member);
    }
    Ok(summary)
}

/// The `.dist-info/entry_points.txt` at the top of the wheel.
fn is_entry_points(member: &str) -> bool {
    member.split_once('/').is_some_and(|(dir, file)| dir.ends_with(".dist-info") && file == "entry_points.txt")
}

fn is_data_script(member: &str) -> bool {
    let mut parts = member.splitn(3, '/');
    matches!((parts.next(), parts.next(), parts.next()), (Some(data), Some("scripts"), Some(_)) if data.ends_with(".data"))
}

/// A wheel hashlock may compare an installation with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub filename: String,
    pub url: String,
    /// The sha256 its bytes must have: the lock's and the index's, which agree.
    pub sha256: String,
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error("{filename}: downloaded bytes have sha256 {actual}, not {expected}")]
    Mismatch { filename: String, expected: String, actual: String },
    #[error("{filename}: {message}")]
    Archive { filename: String, message: String },
}

/// The candidate's member summary: from the cache by its sha256, else downloaded (streamed to
/// a temp file and hashed on the way), checked and unpacked.
pub fn fetch_summary(client: &IndexClient, candidate: &Candidate) -> Result<WheelSummary, FetchError> {
    let cache = client.cache();
    if let Some(summary) = cache
        .and_then(|c| c.read_wheel(&candidate.sha256))
        .and_then(|bytes| serde_json::from_slice::<WheelSummary>(&bytes).ok())
    {
        return Ok(summary);
    }
    let archive = |message: String| FetchError::Archive { filename: candidate.filename.clone(), message };
    let url = Url::parse(&candidate.url).map_err(|e| archive(format!("invalid URL: {e}")))?;
    let (file, actual) = client.http().download(&url, MAX_DOWNLOAD_SIZE, spool_hashed)?;
    if actual != candidate.sha256 {
        return Err(FetchError::Mismatch {
            filename: candidate.filename.clone(),
            expected: candidate.sha256.clone(),
            actual,
        });
    }
    let summary = summarize_wheel(file, &candidate.filename).map_err(archive)?;
    if let (Some(cache), Ok(json)) = (cache, serde_json::to_vec(&summary)) {
        cache.write_wheel(&candidate.sha256, &json);
    }
    Ok(summary)
}

/// Whether a wheel's filename tags are exactly the installed WHEEL file's tags.
pub fn tags_match(wheel: &WheelFilename, tags: &BTreeSet<String>) -> bool {
    let mut expanded = BTreeSet::new();
    for python in &wheel.python_tags {
        for abi in &wheel.abi_tags {
            for platform in &wheel.platform_tags {
                expanded.insert(format!("{python}-{abi}-{platform}"));
            }
        }
    }
    !tags.is_empty() && &expanded == tags
}

/// The wheel of `filename` parsed for `dist`'s project, when its version and tags are the
/// installed ones.
pub fn installable_as(dist: &Installed, filename: &str) -> bool {
    match DistFilename::parse(filename, &dist.name) {
        Some(DistFilename::Wheel(wheel)) => wheel.version == dist.version && tags_match(&wheel, &dist.tags),
        _ => false,
    }
}

/// What an installed distribution is to be compared with, and what was found on the way.
#[derive(Debug, Default)]
pub struct Planned {
    pub findings: Vec<Finding>,
    /// The wheels it may have come from (several: the one whose content matches wins).
    pub candidates: Vec<Candidate>,
}

/// Finds the wheel `dist` came from: with a lock, a wheel of its name and version whose
/// sha256 the lock records and whose tags are the WHEEL file's; without one (or for a
/// package the lock does not name), the index's wheels of that version with those tags.
/// `published`: the index's files of the project, `None` when the index does not know it.
pub fn plan(env: &Environment, dist: &Installed, lock: Option<&Lockfile>, published: Option<&[DistFile]>) -> Planned {
    let what = dist.describe();
    let mut findings = Vec::new();
    let mut candidates: Vec<Candidate> = Vec::new();
    // The lock's sha256s for this wheel, when the lock pins this version.
    let mut locked: Option<BTreeSet<String>> = None;
    if let Some(lock) = lock {
        let lock_name = lock.format.describe();
        let named: Vec<&Package> = lock.packages.iter().filter(|p| p.name == dist.name).collect();
        // An entry without a version (editable, path, unpinned) names the package all the same.
        match named.iter().find(|p| p.version.as_ref().is_none_or(|v| *v == dist.version)) {
            Some(package) => {
                let for_this = |a: &&Artifact| a.filename.as_deref().is_none_or(|f| installable_as(dist, f));
                let sha256s = package.artifacts.iter().filter(for_this).flat_map(|a| &a.hashes);
                locked = Some(sha256s.filter(|h| h.algorithm == "sha256").map(|h| h.hex.clone()).collect());
                // A lock entry's own URL serves when the index does not list the file.
                for artifact in package.artifacts.iter().filter(|a| a.filename.is_some()).filter(for_this) {
                    let sha256 = artifact.hashes.iter().find(|h| h.algorithm == "sha256");
                    if let (Some(filename), Some(url), Some(sha256)) = (&artifact.filename, &artifact.url, sha256) {
                        candidates.push(Candidate {
                            filename: filename.clone(),
                            url: url.clone(),
                            sha256: sha256.hex.clone(),
                        });
                    }
                }
            }
            None => {
                let pins: Vec<String> =
                    named.iter().filter_map(|p| p.version.as_ref()).map(ToString::to_string).collect();
                let message = match pins.is_empty() {
                    true => format!("{what} is installed, and the {lock_name} does not name it"),
                    false => format!("{what} is installed, and the {lock_name} pins {}", pins.join(", ")),
                };
                let finding = Finding::new(Code::NotInLock, Some(&dist.name), message);
                // What `python -m venv` brings is expected even when no lock names it.
                let bootstrapped = pins.is_empty() && env.bootstraps(&dist.name);
                findings.push(if bootstrapped { finding.with_severity(Severity::Info) } else { finding });
            }
        }
    }
    let unverifiable = |why: String| {
        Finding::new(Code::Unverifiable, Some(&dist.name), format!("{what}: {why}; only its RECORD is checked"))
    };
    match &dist.origin {
        Origin::Index => {}
        Origin::Url(url) => findings.push(unverifiable(format!("installed from {url}"))),
        Origin::Editable(url) => findings.push(unverifiable(format!("an editable install of {url}"))),
        Origin::EggInfo => findings.push(unverifiable("installed as .egg-info, without a RECORD".into())),
    }
    if dist.origin != Origin::Index {
        return Planned { findings, candidates: Vec::new() };
    }
    for file in published.unwrap_or_default() {
        let Some(sha256) = file.sha256().map(str::to_ascii_lowercase) else { continue };
        let lock_agrees = locked.as_ref().is_none_or(|locked| locked.contains(&sha256));
        if installable_as(dist, &file.filename) && lock_agrees {
            candidates.retain(|c| c.filename != file.filename);
            candidates.push(Candidate { filename: file.filename.clone(), url: file.url.clone(), sha256 });
        }
    }
    if candidates.is_empty() {
        let tags = dist.tags.iter().cloned().collect::<Vec<_>>().join(".");
        let lock_name = lock.map_or("", |l| l.format.describe());
        let index_has = published.unwrap_or_default().iter().any(|f| installable_as(dist, &f.filename));
        findings.push(match (&locked, published) {
            (Some(_), _) if index_has => Finding::new(
                Code::NotInLock,
                Some(&dist.name),
                format!("{what}: installed from a wheel tagged {tags}, and the {lock_name} records no hash of the index's wheel with those tags"),
            ),
            (Some(locked), _) if locked.is_empty() => Finding::new(
                Code::NotInLock,
                Some(&dist.name),
                format!("{what}: installed from a wheel tagged {tags}, and the {lock_name} records no wheel with those tags"),
            ),
            (_, None) => unverifiable("the index does not know the project".into()),
            _ => unverifiable(format!("no wheel on the index is tagged {tags} (built from its sdist?)")),
        });
    }
    Planned { findings, candidates }
}

/// What an installed file must be.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Expect {
    /// A wheel member's exact bytes.
    Member { sha256: String },
    /// A `.data/scripts` file with `#!python`: a shebang naming the environment's python,
    /// then the member's bytes after its first line.
    Script { after_shebang: String },
    /// A console or GUI entry point, as pip generates it.
    EntryPoint { module: String, import: String, func: String },
    /// Checked against RECORD only (bytecode, Windows launchers, distributions without a
    /// verified wheel); `optional`: may be absent.
    Record { sha256: Option<String>, optional: bool },
    /// INSTALLER, REQUESTED, `direct_url.json`, RECORD: the installer's own.
    Installer,
}

/// What was found about one distribution.
#[derive(Debug, Default)]
pub struct Judged {
    pub findings: Vec<Finding>,
    /// Files compared with something (the wheel, a generated script, RECORD).
    pub files: usize,
    /// Every path the distribution owns.
    pub owned: Vec<PathBuf>,
}

/// Compares one distribution's files with `wheel` (or, without one, with its RECORD).
pub fn judge(env: &Environment, dist: &Installed, wheel: Option<&WheelSummary>) -> Judged {
    let expected = expectations(env, dist, wheel);
    let to_hash: Vec<PathBuf> = expected
        .iter()
        .filter(|(path, expect)| {
            matches!(expect, Expect::Member { .. } | Expect::Record { sha256: Some(_), .. }) && path.is_file()
        })
        .map(|(path, _)| path.clone())
        .collect();
    // One file at a time, so that one that vanished meanwhile is only that file's problem.
    let hashed: HashMap<PathBuf, String> = to_hash
        .par_iter()
        .filter_map(|path| {
            let file = hash_files(std::slice::from_ref(path), &BTreeSet::new()).ok()?.pop()?;
            Some((file.path.clone(), file.sha256().to_string()))
        })
        .collect();
    let against = wheel.map_or_else(|| "its RECORD".to_string(), |w| w.filename.clone());
    let mut judged = Judged::default();
    for (path, expect) in &expected {
        judged.owned.push(path.clone());
        if *expect == Expect::Installer {
            continue;
        }
        let shown = env.show(path);
        let exists = path.is_file();
        let problem = match expect {
            Expect::Record { optional: true, .. } if !exists => None,
            _ if !exists => {
                judged.findings.push(Finding::new(
                    Code::InstalledFileMissing,
                    Some(&dist.name),
                    format!("{}: {shown} is missing (it is in {against})", dist.describe()),
                ));
                continue;
            }
            Expect::Member { sha256 } | Expect::Record { sha256: Some(sha256), .. } => {
                (hashed.get(path) != Some(sha256)).then(|| format!("differs from {against}"))
            }
            Expect::Record { sha256: None, .. } => {
                // Nothing to compare with: owned, not verified.
                continue;
            }
            Expect::Script { after_shebang } => script_problem(env, path, after_shebang, &against),
            Expect::EntryPoint { module, import, func } => entry_point_problem(env, path, module, import, func),
            Expect::Installer => None,
        };
        judged.files += 1;
        if let Some(problem) = problem {
            judged.findings.push(Finding::new(
                Code::InstalledFileModified,
                Some(&dist.name),
                format!("{}: {shown} {problem}", dist.describe()),
            ));
        }
    }
    judged
}

/// The file's bytes, when it is no larger than [`MAX_TEXT_SIZE`].
fn read_small(path: &Path) -> Option<Vec<u8>> {
    let mut bytes = Vec::new();
    File::open(path).ok()?.take(MAX_TEXT_SIZE + 1).read_to_end(&mut bytes).ok()?;
    (bytes.len() as u64 <= MAX_TEXT_SIZE).then_some(bytes)
}

fn script_problem(env: &Environment, path: &Path, after_shebang: &str, against: &str) -> Option<String> {
    let Some(bytes) = read_small(path) else { return Some("cannot be read".into()) };
    let newline = bytes.iter().position(|&b| b == b'\n').unwrap_or(bytes.len());
    let first = String::from_utf8_lossy(&bytes[..newline]);
    let interpreter = first.strip_prefix("#!").map(|rest| rest.trim_end_matches('\r'));
    if !interpreter.is_some_and(|python| env.is_own_python(python)) {
        return Some(format!("has the shebang `{first}`, not the environment's python"));
    }
    let rest = bytes.get(newline + 1..).unwrap_or_default();
    (lower_hex(&Sha256::digest(rest)) != after_shebang).then(|| format!("differs from {against} after its shebang"))
}

/// The launcher bodies pip has written after the shebang: distlib's template (pip 23-25),
/// the same with the import under `if __name__ == '__main__':` (distlib 0.4), and pip 26's
/// own, without `re`.
fn launcher_bodies(module: &str, import: &str, func: &str) -> [String; 3] {
    let argv = r"    sys.argv[0] = re.sub(r'(-script\.pyw|\.exe)?$', '', sys.argv[0])";
    let exit = format!("    sys.exit({func}())\n");
    [
        format!(
            "# -*- coding: utf-8 -*-\nimport re\nimport sys\nfrom {module} import {import}\nif __name__ == '__main__':\n{argv}\n{exit}"
        ),
        format!(
            "# -*- coding: utf-8 -*-\nimport re\nimport sys\nif __name__ == '__main__':\n    from {module} import {import}\n{argv}\n{exit}"
        ),
        format!(
            "import sys\nfrom {module} import {import}\nif __name__ == '__main__':\n    sys.argv[0] = sys.argv[0].removesuffix('.exe')\n{exit}"
        ),
    ]
}

/// An entry-point script must be a shebang naming the environment's python (the plain form,
/// or the `/bin/sh` form distlib writes for long paths or paths with spaces), then the
/// launcher pip generates.
fn entry_point_problem(env: &Environment, path: &Path, module: &str, import: &str, func: &str) -> Option<String> {
    let Some(bytes) = read_small(path) else { return Some("cannot be read".into()) };
    let text = String::from_utf8_lossy(&bytes);
    let (python, body) = if let Some(rest) = text.strip_prefix("#!/bin/sh\n'''exec' ") {
        let Some((line, body)) = rest.split_once('\n') else { return Some("is not a launcher".into()) };
        let Some(body) = body.strip_prefix("' '''\n") else { return Some("is not a launcher".into()) };
        (line.strip_suffix(r#" "$0" "$@""#).unwrap_or(line).to_string(), body)
    } else {
        let Some((line, body)) = text.split_once('\n') else { return Some("is not a launcher".into()) };
        (line.strip_prefix("#!").unwrap_or_default().to_string(), body)
    };
    if !env.is_own_python(&python) {
        return Some(format!("runs `{python}`, not the environment's python"));
    }
    if !launcher_bodies(module, import, func).iter().any(|expected| expected == body) {
        return Some(format!("is not the launcher an installer generates for `{module}:{func}`"));
    }
    None
}

/// `(name, module, attr)` of the console and GUI scripts of an `entry_points.txt`, with pip's
/// special case: for pip (and setuptools' easy_install) the versioned names in the wheel are
/// replaced by the ones for the installing Python (`pip3`, `pip3.11`).
fn entry_points(text: &str, env: &Environment) -> Vec<(String, String, String)> {
    let mut scripts: BTreeMap<String, String> = BTreeMap::new();
    let mut section = String::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            section = line.trim_matches(['[', ']']).trim().to_string();
        } else if matches!(section.as_str(), "console_scripts" | "gui_scripts")
            && let Some((name, value)) = line.split_once('=')
        {
            scripts.insert(name.trim().to_string(), value.trim().to_string());
        }
    }
    let (major, minor) = env.minor_version();
    let versioned = |name: &str, base: &str| {
        name.strip_prefix(base)
            .is_some_and(|rest| !rest.is_empty() && rest.chars().all(|c| c.is_ascii_digit() || c == '.'))
    };
    if let Some(value) = scripts.get("pip").cloned() {
        scripts.retain(|name, _| !versioned(name, "pip"));
        scripts.insert(format!("pip{major}"), value.clone());
        scripts.insert(format!("pip{major}.{minor}"), value);
    }
    if let Some(value) = scripts.get("easy_install").cloned() {
        scripts.retain(|name, _| !versioned(name, "easy_install-"));
        scripts.insert(format!("easy_install-{major}.{minor}"), value);
    }
    scripts
        .into_iter()
        .filter_map(|(name, value)| {
            // `module:attr [extras]`; the extras change nothing in the script.
            let callable = value.split('[').next().unwrap_or_default().trim();
            let (module, attr) = callable.split_once(':')?;
            Some((name, module.trim().to_string(), attr.trim().to_string()))
        })
        .collect()
}

/// Where pip installs each wheel member, and what each file must be.
fn expectations(env: &Environment, dist: &Installed, wheel: Option<&WheelSummary>) -> Vec<(PathBuf, Expect)> {
    let installer_file = |path: &Path| {
        path.parent() == Some(&dist.metadata_dir)
            && path
                .file_name()
                .is_some_and(|n| matches!(n.to_str(), Some("INSTALLER" | "REQUESTED" | "direct_url.json" | "RECORD")))
    };
    let mut expected: BTreeMap<PathBuf, Expect> = BTreeMap::new();
    let Some(wheel) = wheel else {
        for (path, sha256) in &dist.record {
            let expect = if installer_file(path) {
                Expect::Installer
            } else {
                Expect::Record { sha256: sha256.clone(), optional: is_bytecode(path) }
            };
            expected.insert(path.clone(), expect);
        }
        return expected.into_iter().collect();
    };
    let lib = if dist.root_is_purelib { &env.purelib } else { &env.platlib };
    for (name, member) in &wheel.members {
        let Some(path) = member_destination(env, lib, dist, name) else { continue };
        let expect = match &member.after_shebang {
            Some(after_shebang) => Expect::Script { after_shebang: after_shebang.clone() },
            None => Expect::Member { sha256: member.sha256.clone() },
        };
        // The installer writes its own RECORD; a vendored package's (bleach vendors
        // html5lib's .dist-info) is an ordinary member.
        let own_record =
            name.split_once('/').is_some_and(|(dir, file)| dir.ends_with(".dist-info") && file == "RECORD");
        if !own_record {
            expected.insert(path, expect);
        }
    }
    for (name, module, attr) in entry_points(&wheel.entry_points, env) {
        let import = attr.split('.').next().unwrap_or_default().to_string();
        if env.windows {
            // pip's .exe launchers embed the script in a binary stub it ships: RECORD only.
            let path = env.scripts.join(format!("{name}.exe"));
            let sha256 = dist.record.iter().find(|(p, _)| *p == path).and_then(|(_, h)| h.clone());
            expected.insert(path, Expect::Record { sha256, optional: false });
        } else {
            expected.insert(env.scripts.join(&name), Expect::EntryPoint { module, import, func: attr });
        }
    }
    for (path, sha256) in &dist.record {
        if installer_file(path) {
            expected.insert(path.clone(), Expect::Installer);
        } else if is_bytecode(path) && !expected.contains_key(path) {
            expected.insert(path.clone(), Expect::Record { sha256: sha256.clone(), optional: true });
        }
    }
    expected.insert(dist.metadata_dir.join("RECORD"), Expect::Installer);
    expected.into_iter().collect()
}

fn is_bytecode(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "pyc")
}

/// pip's install scheme: `.data/scripts` to the scripts directory, `.data/purelib` and
/// `.data/platlib` to theirs, `.data/data` to the prefix, `.data/headers` to
/// `include/site/pythonX.Y/NAME`, anything else to the root library directory.
fn member_destination(env: &Environment, lib: &Path, dist: &Installed, member: &str) -> Option<PathBuf> {
    let data = member.split_once('/').filter(|(first, _)| first.ends_with(".data"));
    let Some((scheme, path)) = data.and_then(|(_, rest)| rest.split_once('/')) else {
        return Some(normalize(&lib.join(member)));
    };
    let base = match scheme {
        "scripts" => env.scripts.clone(),
        "purelib" => env.purelib.clone(),
        "platlib" => env.platlib.clone(),
        "data" => env.prefix.clone(),
        "headers" => {
            let (major, minor) = env.minor_version();
            env.prefix.join("include").join("site").join(format!("python{major}.{minor}")).join(dist.name.as_ref())
        }
        _ => return None,
    };
    Some(normalize(&base.join(path)))
}

/// The lock's packages for this environment (by their markers) that are not installed; a
/// package the lock records from a path, URL or VCS is judged by name alone.
pub fn not_installed(env: &Environment, lock: &Lockfile, dists: &[Installed]) -> Vec<Finding> {
    let lock_name = lock.format.describe();
    lock.packages
        .iter()
        .filter(|p| p.marker.evaluate(&env.markers, &[]))
        .filter(|p| !dists.iter().any(|d| d.name == p.name && p.version.as_ref().is_none_or(|v| *v == d.version)))
        .filter(|p| !(p.non_index_source.is_some() && dists.iter().any(|d| d.name == p.name)))
        .map(|p| {
            let pinned = p.version.as_ref().map_or_else(|| p.name.to_string(), |v| format!("{} {v}", p.name));
            Finding::new(
                Code::NotInstalled,
                Some(&p.name),
                format!("the {lock_name} pins {pinned}, which is not installed"),
            )
            .at(&p.location)
        })
        .collect()
}

/// Files in site-packages (and, in a virtualenv, the scripts directory) that no distribution
/// owns. Error for `.pth` files (they run at every interpreter start), modules, extension
/// modules and executables; warning for anything else. Bytecode next to an owned source is
/// a cache Python writes itself: a warning.
pub fn unowned(env: &Environment, owned: &HashSet<PathBuf>) -> Vec<Finding> {
    let mut findings = Vec::new();
    let venv_file = |path: &Path| {
        let name = path.file_name().map(|n| n.to_string_lossy().to_lowercase()).unwrap_or_default();
        name.starts_with("python")
            || name.starts_with("activate")
            || matches!(name.as_str(), "deactivate.bat" | "pydoc.bat")
    };
    let mut files: Vec<(PathBuf, bool)> =
        env.site_dirs().into_iter().flat_map(walk).map(|path| (path, false)).collect();
    if env.is_virtualenv {
        let scripts = std::fs::read_dir(&env.scripts).into_iter().flatten().flatten();
        files.extend(
            scripts
                .filter(|entry| entry.file_type().is_ok_and(|kind| !kind.is_dir()))
                .map(|entry| normalize(&entry.path()))
                .filter(|path| !venv_file(path))
                .map(|path| (path, true)),
        );
    }
    for (path, in_scripts) in files {
        if owned.contains(&path) {
            continue;
        }
        let extension = path.extension().map(|e| e.to_string_lossy().to_lowercase()).unwrap_or_default();
        let cached_bytecode = extension == "pyc" && owned_source(&path, owned);
        let (severity, what) = if extension == "pth" {
            (Severity::Error, "a .pth file no distribution installed: it runs at every interpreter start")
        } else if cached_bytecode {
            (Severity::Warning, "bytecode no distribution installed, of an installed module")
        } else if matches!(extension.as_str(), "py" | "pyc" | "pyw" | "so" | "pyd" | "dylib") {
            (Severity::Error, "a module no distribution installed")
        } else if in_scripts || is_executable(&path) {
            (Severity::Error, "an executable no distribution installed")
        } else {
            (Severity::Warning, "a file no distribution installed")
        };
        findings.push(
            Finding::new(Code::UnownedFile, None, format!("{}: {what}", env.show(&path))).with_severity(severity),
        );
    }
    findings
}

/// Whether `__pycache__/NAME.TAG.pyc`'s source `NAME.py` one directory up is owned.
fn owned_source(pyc: &Path, owned: &HashSet<PathBuf>) -> bool {
    let (Some(dir), Some(name)) = (pyc.parent(), pyc.file_name().and_then(|n| n.to_str())) else { return false };
    let Some(module) = name.split('.').next() else { return false };
    dir.file_name().is_some_and(|d| d == "__pycache__")
        && dir.parent().is_some_and(|parent| owned.contains(&parent.join(format!("{module}.py"))))
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata().is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("exe"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_rows_and_digests() {
        let site = Path::new("/v/lib/python3.11/site-packages");
        let text =
            "six.py,sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,3\n\"a,b.py\",,\n../../../bin/x,sha256=,\n";
        let rows = parse_record(text, site);
        // The digest of the empty file, as RECORD writes it.
        assert_eq!(rows[0], (site.join("six.py"), Some(lower_hex(&Sha256::digest(b"")))));
        assert_eq!(rows[1], (site.join("a,b.py"), None));
        assert_eq!(rows[2].0, PathBuf::from("/v/bin/x"));
        assert_eq!(b64_to_hex("not base64!"), None);
    }

    proptest::proptest! {
        #[test]
        fn record_fields_read_back(fields in proptest::collection::vec("[^\r\n]{0,12}", 1..4)) {
            let quoted: Vec<String> = fields
                .iter()
                .map(|f| match f.contains([',', '"']) {
                    true => format!("\"{}\"", f.replace('"', "\"\"")),
                    false => f.clone(),
                })
                .collect();
            proptest::prop_assert_eq!(csv_fields(&quoted.join(",")), fields);
        }

        #[test]
        fn untrusted_metadata_never_panics(text in "\\PC{0,200}") {
            let _ = parse_record(&text, Path::new("/site"));
            let _ = b64_to_hex(&text);
            let _ = entry_points(&text, &test_env());
        }
    }

    fn test_env() -> Environment {
        let markers = crate::target::Target::from_options(Some("3.11"), Some("linux")).unwrap().marker_environment();
        Environment {
            executable: "/v/bin/python".into(),
            prefix: "/v".into(),
            purelib: "/v/lib/python3.11/site-packages".into(),
            platlib: "/v/lib/python3.11/site-packages".into(),
            scripts: "/v/bin".into(),
            python_version: "3.11.7".into(),
            is_virtualenv: true,
            windows: false,
            markers,
        }
    }

    #[test]
    fn entry_points_with_pips_renaming() {
        let text = "[console_scripts]\npip = pip._internal.cli.main:main\npip3 = pip._internal.cli.main:main\npip3.12 = pip._internal.cli.main:main\n\n[gui_scripts]\nviewer = app.gui:run [qt]\n[other]\nx = y:z\n";
        let names: Vec<String> = entry_points(text, &test_env()).into_iter().map(|(name, _, _)| name).collect();
        assert_eq!(names, ["pip", "pip3", "pip3.11", "viewer"]);
        let viewer = entry_points(text, &test_env()).pop().unwrap();
        assert_eq!(viewer, ("viewer".into(), "app.gui".into(), "run".into()));
    }

    #[test]
    fn a_vendored_record_is_a_member_and_the_installers_is_not() {
        let env = test_env();
        let dist = Installed {
            name: PackageName::from_str("bleach").unwrap(),
            version: Version::from_str("6.0").unwrap(),
            metadata_dir: env.purelib.join("bleach-6.0.dist-info"),
            record: Vec::new(),
            tags: BTreeSet::from(["py3-none-any".to_string()]),
            root_is_purelib: true,
            origin: Origin::Index,
        };
        let member = |sha256: &str| Member { sha256: sha256.into(), size: 1, after_shebang: None };
        let wheel = WheelSummary {
            filename: "bleach-6.0-py3-none-any.whl".into(),
            members: BTreeMap::from([
                ("bleach-6.0.dist-info/RECORD".to_string(), member("a")),
                ("bleach/_vendor/html5lib-1.1.dist-info/RECORD".to_string(), member("b")),
                ("bleach-6.0.data/scripts/tool".to_string(), member("c")),
            ]),
            entry_points: String::new(),
        };
        let expected = expectations(&env, &dist, Some(&wheel));
        let find = |path: &str| expected.iter().find(|(p, _)| p == Path::new(path)).map(|(_, e)| e.clone());
        let site = "/v/lib/python3.11/site-packages";
        assert_eq!(find(&format!("{site}/bleach-6.0.dist-info/RECORD")), Some(Expect::Installer));
        assert_eq!(
            find(&format!("{site}/bleach/_vendor/html5lib-1.1.dist-info/RECORD")),
            Some(Expect::Member { sha256: "b".into() })
        );
        assert_eq!(find("/v/bin/tool"), Some(Expect::Member { sha256: "c".into() }));
    }

    #[test]
    fn shebangs_must_name_the_environments_python() {
        let env = test_env();
        assert!(env.is_own_python("/v/bin/python3"));
        assert!(env.is_own_python("\"/v/bin/python\""));
        assert!(!env.is_own_python("/usr/bin/python3"));
        assert!(!env.is_own_python("/v/bin/sh"));
    }

    #[test]
    fn launcher_forms_pip_writes() {
        // As pip 23.2 and pip 26.3 wrote them for pip itself (read from installed venvs).
        let [old, moved, pip26] = launcher_bodies("pip._internal.cli.main", "cli", "cli");
        assert_eq!(
            old,
            "# -*- coding: utf-8 -*-\nimport re\nimport sys\nfrom pip._internal.cli.main import cli\nif __name__ == '__main__':\n    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])\n    sys.exit(cli())\n"
        );
        assert!(moved.contains("if __name__ == '__main__':\n    from pip._internal.cli.main import cli\n"));
        assert_eq!(
            pip26,
            "import sys\nfrom pip._internal.cli.main import cli\nif __name__ == '__main__':\n    sys.argv[0] = sys.argv[0].removesuffix('.exe')\n    sys.exit(cli())\n"
        );
    }
}
