//! Verifying local distribution files (e.g. from `pip download`) against a requirements file
//! and against what the index publishes for the same filenames.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use sha2::digest::DynDigest;
use sha2::{Digest, Sha256, Sha384, Sha512};

use crate::dist::{DistFile, DistFilename, Hashes};
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
            let hex = |digest: Box<[u8]>| digest.iter().map(|b| format!("{b:02x}")).collect();
            Ok(LocalFile {
                filename: path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
                path: path.clone(),
                hashes: hashers
                    .into_iter()
                    .map(|(algorithm, hasher)| (algorithm.to_string(), hex(hasher.finalize())))
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

/// Findings for local files: `local-mismatch` (none of its hashes is among the requirement's
/// hashes; the message says whether the index agrees with the file or with nothing),
/// `uncovered-file` (no requirement for it), `no-local-file` (a requirement with no file).
/// `published`: the index's files for a filename's project, when checking against the index.
pub fn verify(
    requirements: &RequirementsFile,
    locals: &[LocalFile],
    published: &dyn Fn(&Entry) -> Vec<DistFile>,
) -> Vec<Finding> {
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
        if matches_any(local, entry.hashes.iter().map(|h| (&h.algorithm, &h.hex))) {
            continue;
        }
        let index_files = published(entry);
        let on_index = index_files.iter().find(|f| f.filename == local.filename).map(|f| &f.hashes);
        let comparable =
            on_index.is_some_and(|hashes| hashes.keys().any(|algorithm| local.hashes.contains_key(algorithm)));
        let verdict = match on_index {
            Some(hashes) if matches_any(local, hashes.iter()) => {
                "it matches the index, so the requirements file is stale"
            }
            Some(_) if comparable => {
                "it matches neither the requirements file nor the index: the file was altered or corrupted"
            }
            _ => "it matches no hash in the requirements file",
        };
        // Named by the algorithm the requirement uses, sha256 when it has one.
        let (algorithm, hex) = entry
            .hashes
            .iter()
            .filter_map(|h| local.hashes.get(&h.algorithm).map(|hex| (h.algorithm.as_str(), hex.as_str())))
            .min()
            .unwrap_or(("sha256", local.sha256()));
        findings.push(
            Finding::new(
                Code::LocalMismatch,
                Some(&requirement.name),
                format!("{}: {algorithm} {hex} is not a hash of {}: {verdict}", local.path.display(), requirement),
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

/// Whether any of `hashes` (algorithm, hex) is one of the local file's computed hashes.
fn matches_any<'a>(local: &LocalFile, hashes: impl IntoIterator<Item = (&'a String, &'a String)>) -> bool {
    hashes
        .into_iter()
        .any(|(algorithm, hex)| local.hashes.get(algorithm).is_some_and(|mine| mine.eq_ignore_ascii_case(hex)))
}
