//! Verifying local distribution files (e.g. from `pip download`) against a requirements file
//! and against what the index publishes for the same filenames.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use sha2::digest::DynDigest;
use sha2::{Digest, Sha256, Sha384, Sha512};

use crate::dist::{DistFile, DistFilename, Hashes, lower_hex};
use crate::findings::{Code, Finding};
use crate::lock::PIP_ALGORITHMS;
use crate::reqfile::{Entry, EntryKind, RequirementsFile};

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
#[error("{path}: {source}")]
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

/// The algorithms pip accepts that the requirements file uses: besides sha256, local files
/// need the sha384/sha512 hashlock writes for files the index gave no sha256.
pub fn algorithms_used(requirements: &RequirementsFile) -> BTreeSet<&'static str> {
    let hashes = || requirements.entries.iter().flat_map(|e| &e.hashes);
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

/// The files the index lists under a filename for a requirement's project.
pub type Published<'a> = &'a dyn Fn(&Entry, &str) -> Vec<DistFile>;

/// Findings for local files: `local-mismatch` (none of its hashes is among the requirement's
/// hashes, the message saying whether the index agrees with the file or with nothing; or,
/// checked against the index, the index does not publish its hash for its filename: a
/// requirements file edited to match an altered file), `uncovered-file` (no requirement for
/// it), `no-local-file` (a requirement with no file).
/// `published`: the index's files for a filename's project; `None` when not checking against
/// the index.
pub fn verify(requirements: &RequirementsFile, locals: &[LocalFile], published: Option<Published<'_>>) -> Vec<Finding> {
    let pinned: Vec<(&Entry, &pep508_rs::Requirement)> = requirements
        .entries
        .iter()
        .filter(|e| !e.constraint)
        .filter_map(|e| match &e.kind {
            EntryKind::Named(requirement) => Some((e, requirement)),
            _ => None,
        })
        .collect();
    let mut findings = Vec::new();
    let mut covered: BTreeSet<usize> = BTreeSet::new();
    for local in locals {
        let owner = pinned.iter().enumerate().find_map(|(i, (entry, requirement))| {
            let parsed = DistFilename::parse(&local.filename, &requirement.name)?;
            requirement
                .version_or_url
                .as_ref()
                .is_none_or(|v| match v {
                    pep508_rs::VersionOrUrl::VersionSpecifier(specifiers) => specifiers.contains(parsed.version()),
                    pep508_rs::VersionOrUrl::Url(_) => false,
                })
                .then_some((i, *entry, *requirement))
        });
        let Some((index, entry, requirement)) = owner else {
            findings.push(Finding::new(
                Code::UncoveredFile,
                None,
                format!("{}: no requirement in the file covers this file", local.path.display()),
            ));
            continue;
        };
        covered.insert(index);
        let in_requirements = matches_any(local, entry.hashes.iter().map(|h| (&h.algorithm, &h.hex)));
        let on_index = published.map(|published| IndexSays::of(local, published(entry, &local.filename).iter()));
        let verdict = match (in_requirements, on_index) {
            (true, None | Some(IndexSays::Agrees)) => continue,
            (true, Some(IndexSays::NoSuchFile)) => "the requirements file agrees, but the index has no such file",
            (true, Some(IndexSays::Differs)) => {
                "the requirements file agrees, but the index does not: the file was altered and the requirements \
                 file edited to match, or the index changed"
            }
            (true, Some(IndexSays::Uncomparable)) => {
                "the requirements file agrees, but the index publishes no sha256, sha384 or sha512 of it to compare"
            }
            (false, Some(IndexSays::Agrees)) => "it matches the index, so the requirements file is stale",
            (false, Some(IndexSays::Differs)) => {
                "it matches neither the requirements file nor the index: the file was altered or corrupted"
            }
            (false, Some(IndexSays::NoSuchFile)) => {
                "it matches no hash in the requirements file, and the index has no such file"
            }
            (false, None | Some(IndexSays::Uncomparable)) => "it matches no hash in the requirements file",
        };
        // Named by the algorithm the requirement uses, sha256 when it has one.
        let (algorithm, hex) = entry
            .hashes
            .iter()
            .filter_map(|h| local.hashes.get(&h.algorithm).map(|hex| (h.algorithm.as_str(), hex.as_str())))
            .min()
            .unwrap_or(("sha256", local.sha256()));
        let is = if in_requirements { "is" } else { "is not" };
        findings.push(
            Finding::new(
                Code::LocalMismatch,
                Some(&requirement.name),
                format!("{}: {algorithm} {hex} {is} a hash of {}: {verdict}", local.path.display(), requirement),
            )
            .at(&entry.location),
        );
    }
    for (i, (entry, requirement)) in pinned.iter().enumerate() {
        if !covered.contains(&i) {
            findings.push(
                Finding::new(Code::NoLocalFile, Some(&requirement.name), format!("no local file for {requirement}"))
                    .at(&entry.location),
            );
        }
    }
    findings.sort();
    findings
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
