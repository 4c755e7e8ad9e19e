//! Verifying local distribution files (e.g. from `pip download`) against a requirements file
//! and against what the index publishes for the same filenames.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use sha2::digest::DynDigest;
use sha2::{Digest, Sha256, Sha384, Sha512};

use crate::check::findings::{Code, Finding};
use crate::dist::{DistFile, DistFilename, Hashes, lower_hex, same_filename};
use crate::lock::PIP_ALGORITHMS;
use crate::lockfile::{Lockfile, Package};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalFile {
    pub path: PathBuf,
    pub filename: String,
    /// Algorithm → lowercase hex: sha256, and the other algorithms asked of [`hash_files`].
    pub hashes: Hashes,
}

impl LocalFile {
    pub fn sha256(&self) -> &str {
        self.hashes.get("sha256").map_or("", String::as_str)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{path}")]
pub struct LocalFileError {
    pub path: String,
    pub source: std::io::Error,
}

/// The files named, and the files directly inside the directories named, sorted.
pub fn list_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, LocalFileError> {
    fn error(path: &Path) -> impl Fn(std::io::Error) -> LocalFileError + '_ {
        move |source| LocalFileError { path: path.display().to_string(), source }
    }
    let mut files = Vec::new();
    for path in paths {
        if path.metadata().map_err(error(path))?.is_dir() {
            for entry in std::fs::read_dir(path).map_err(error(path))? {
                let entry = entry.map_err(error(path))?;
                if entry.file_type().map_err(error(path))?.is_file() {
                    files.push(entry.path());
                }
            }
        } else {
            files.push(path.clone());
        }
    }
    files.sort();
    files.dedup();
    Ok(files)
}

/// The algorithms pip accepts that the lock uses: besides sha256, local files need the
/// sha384/sha512 hashlock writes for files the index gave no sha256.
pub fn algorithms_used(lockfile: &Lockfile) -> BTreeSet<&'static str> {
    let hashes = || lockfile.packages.iter().flat_map(|p| &p.artifacts).flat_map(|a| &a.hashes);
    PIP_ALGORITHMS.into_iter().filter(|algorithm| hashes().any(|h| h.algorithm == *algorithm)).collect()
}

/// sha256 and `algorithms` (those of [`PIP_ALGORITHMS`]) of each file, streamed in 64 KiB
/// blocks through every hasher at once, files hashed in parallel.
pub fn hash_files(paths: &[PathBuf], algorithms: &BTreeSet<&str>) -> Result<Vec<LocalFile>, LocalFileError> {
    paths
        .par_iter()
        .map(|path| {
            let error = |source| LocalFileError { path: path.display().to_string(), source };
            let mut file = File::open(path).map_err(error)?;
            let mut hashers: Vec<(&str, Box<dyn DynDigest + Send>)> = PIP_ALGORITHMS
                .into_iter()
                .filter(|algorithm| *algorithm == "sha256" || algorithms.contains(algorithm))
                .map(|algorithm| (algorithm, hasher(algorithm)))
                .collect();
            let mut buffer = vec![0u8; 64 * 1024];
            loop {
                let read = file.read(&mut buffer).map_err(error)?;
                if read == 0 {
                    break;
                }
                hashers.iter_mut().for_each(|(_, hasher)| hasher.update(&buffer[..read]));
            }
            Ok(LocalFile {
                filename: path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
                path: path.clone(),
                hashes: hashers
                    .into_iter()
                    .map(|(algorithm, hasher)| (algorithm.to_string(), lower_hex(&hasher.finalize())))
                    .collect(),
            })
        })
        .collect()
}

/// A hasher for one of [`PIP_ALGORITHMS`].
fn hasher(algorithm: &str) -> Box<dyn DynDigest + Send> {
    match algorithm {
        "sha384" => Box::new(Sha384::new()),
        "sha512" => Box::new(Sha512::new()),
        _ => Box::new(Sha256::new()),
    }
}

/// The files the index lists under a filename for a package's project.
pub type Published<'a> = &'a dyn Fn(&Package, &str) -> Vec<DistFile>;

/// Findings for local files: `local-mismatch` (none of its hashes is among the requirement's
/// hashes, the message saying whether the index agrees with the file or with nothing; or,
/// checked against the index, the index does not publish its hash for its filename: a
/// requirements file edited to match an altered file), `uncovered-file` (no requirement for
/// it), `no-local-file` (a requirement with no file).
/// `published`: the index's files for a filename's project; `None` when not checking against
/// the index.
pub fn verify(lockfile: &Lockfile, locals: &[LocalFile], published: Option<Published<'_>>) -> Vec<Finding> {
    let lock = lockfile.format.describe();
    let mut findings = Vec::new();
    let mut covered: BTreeSet<usize> = BTreeSet::new();
    for local in locals {
        let owner = lockfile.packages.iter().enumerate().find(|(_, package)| {
            DistFilename::parse(&local.filename, &package.name)
                .is_some_and(|parsed| package.version.as_ref().is_none_or(|version| version == parsed.version()))
        });
        let Some((index, package)) = owner else {
            findings.push(Finding::new(
                Code::UncoveredFile,
                None,
                format!("{}: no package in the {lock} covers this file", local.path.display()),
            ));
            continue;
        };
        covered.insert(index);
        // Hashes the lock records for this file: those of its filename, and those for any file.
        let recorded: Vec<&crate::lockfile::Hash> = package
            .artifacts
            .iter()
            .filter(|a| a.filename.as_deref().is_none_or(|name| same_filename(name, &local.filename)))
            .flat_map(|a| &a.hashes)
            .collect();
        let in_lock = matches_any(local, recorded.iter().map(|h| (&h.algorithm, &h.hex)));
        let on_index = published.map(|published| IndexSays::of(local, published(package, &local.filename).iter()));
        let verdict = match (in_lock, on_index) {
            (true, None | Some(IndexSays::Agrees)) => continue,
            (true, Some(IndexSays::NoSuchFile)) => format!("the {lock} agrees, but the index has no such file"),
            (true, Some(IndexSays::Differs)) => format!(
                "the {lock} agrees, but the index does not: the file was altered and the {lock} edited to match, or the index changed"
            ),
            (true, Some(IndexSays::Uncomparable)) => {
                format!("the {lock} agrees, but the index publishes no sha256, sha384 or sha512 of it to compare")
            }
            (false, Some(IndexSays::Agrees)) => format!("it matches the index, so the {lock} is stale"),
            (false, Some(IndexSays::Differs)) => {
                format!("it matches neither the {lock} nor the index: the file was altered or corrupted")
            }
            (false, Some(IndexSays::NoSuchFile)) => {
                format!("it matches no hash in the {lock}, and the index has no such file")
            }
            (false, None | Some(IndexSays::Uncomparable)) => format!("it matches no hash in the {lock}"),
        };
        // Named by the algorithm the lock uses, sha256 when it has one.
        let (algorithm, hex) = recorded
            .iter()
            .filter_map(|h| local.hashes.get(&h.algorithm).map(|hex| (h.algorithm.as_str(), hex.as_str())))
            .min()
            .unwrap_or(("sha256", local.sha256()));
        let is = if in_lock { "is" } else { "is not" };
        findings.push(
            Finding::new(
                Code::LocalMismatch,
                Some(&package.name),
                format!("{}: {algorithm} {hex} {is} a hash of {}: {verdict}", local.path.display(), describe(package)),
            )
            .at(&package.location),
        );
    }
    for (i, package) in lockfile.packages.iter().enumerate() {
        if !covered.contains(&i) {
            findings.push(
                Finding::new(
                    Code::NoLocalFile,
                    Some(&package.name),
                    format!("no local file for {}", describe(package)),
                )
                .at(&package.location),
            );
        }
    }
    findings.sort();
    findings
}

/// `name==version`, or the name alone when the lock pins no version.
fn describe(package: &Package) -> String {
    match &package.version {
        Some(version) => format!("{}=={version}", package.name),
        None => package.name.to_string(),
    }
}

/// What the index publishes for a local file's filename.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum IndexSays {
    /// One of its hashes is the file's.
    Agrees,
    /// It lists the filename with other digests of an algorithm hashlock computed.
    Differs,
    /// It lists the filename, but only with algorithms pip (and so hashlock) does not use.
    Uncomparable,
    NoSuchFile,
}

impl IndexSays {
    /// `listed`: the index's files under the local file's filename (one per index that has it).
    fn of<'a>(local: &LocalFile, listed: impl Iterator<Item = &'a DistFile>) -> Self {
        let mut says = Self::NoSuchFile;
        for file in listed {
            if matches_any(local, file.hashes.iter()) {
                return Self::Agrees;
            }
            if file.hashes.keys().any(|algorithm| local.hashes.contains_key(algorithm)) {
                says = Self::Differs;
            } else if says == Self::NoSuchFile {
                says = Self::Uncomparable;
            }
        }
        says
    }
}

/// Whether any of `hashes` (algorithm, hex) is one of the local file's computed hashes.
fn matches_any<'a>(local: &LocalFile, hashes: impl IntoIterator<Item = (&'a String, &'a String)>) -> bool {
    hashes
        .into_iter()
        .any(|(algorithm, hex)| local.hashes.get(algorithm).is_some_and(|mine| mine.eq_ignore_ascii_case(hex)))
}
