//! Distribution files as an index lists them, and their filenames (wheel and sdist).

use std::collections::BTreeMap;
use std::str::FromStr;

use pep508_rs::PackageName;
use pep508_rs::pep440_rs::Version;
use reqwest::Url;
use serde::{Deserialize, Serialize};

use crate::index::simple::normalize;

/// Hash algorithm name (lowercase, e.g. `sha256`) → lowercase hex digest.
pub type Hashes = BTreeMap<String, String>;

/// Where a file's hashes were read from; reported so a reviewer can see the evidence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HashSource {
    /// The `hashes` object of a PEP 691 JSON page.
    JsonPage,
    /// A `#<alg>=<hex>` fragment of a PEP 503 HTML link.
    HtmlFragment,
    /// The index gave no hash for this file.
    None,
}

/// Whether the index advertises a PEP 658/714 metadata file for a distribution.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CoreMetadata {
    #[default]
    Absent,
    /// Advertised; the hashes (possibly empty) are those of the metadata file itself.
    Present(Hashes),
}

/// One file of a project, as listed on a simple-API page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DistFile {
    pub filename: String,
    /// Absolute URL (relative links are resolved against the page URL), fragment removed.
    pub url: Url,
    pub hashes: Hashes,
    pub hash_source: HashSource,
    /// Raw `requires-python` value (entity-decoded); parsed where it is used.
    pub requires_python: Option<String>,
    /// `Some(reason)` when yanked (PEP 592); the reason may be empty.
    pub yanked: Option<String>,
    pub core_metadata: CoreMetadata,
    pub size: Option<u64>,
}

impl DistFile {
    /// The sha256 digest, when the index published one.
    pub fn sha256(&self) -> Option<&str> {
        self.hashes.get("sha256").map(String::as_str)
    }
}

/// A parsed distribution filename.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DistFilename {
    Wheel(WheelFilename),
    Sdist(SdistFilename),
}

/// `{name}-{version}(-{build})?-{python}-{abi}-{platform}.whl`; tag fields may be compressed
/// sets (`py2.py3`), kept here already split on `.`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WheelFilename {
    pub name: PackageName,
    pub version: Version,
    pub build: Option<String>,
    pub python_tags: Vec<String>,
    pub abi_tags: Vec<String>,
    pub platform_tags: Vec<String>,
}

impl WheelFilename {
    /// `stem` is the filename without `.whl`.
    fn parse(stem: &str, project: &PackageName) -> Option<Self> {
        let parts: Vec<&str> = stem.split('-').collect();
        let (name, version, build, tags) = match parts.as_slice() {
            [name, version, tags @ ..] if tags.len() == 3 => (name, version, None, tags),
            [name, version, build, tags @ ..] if tags.len() == 3 => (name, version, Some(*build), tags),
            _ => return None,
        };
        if normalize(name) != project.as_ref() || build.is_some_and(|b| !b.starts_with(|c: char| c.is_ascii_digit())) {
            return None;
        }
        let split = |field: &str| -> Option<Vec<String>> {
            let set: Vec<String> = field.split('.').map(str::to_string).collect();
            (!set.iter().any(String::is_empty)).then_some(set)
        };
        Some(Self {
            name: project.clone(),
            version: Version::from_str(version).ok()?,
            build: build.map(str::to_string),
            python_tags: split(tags[0])?,
            abi_tags: split(tags[1])?,
            platform_tags: split(tags[2])?,
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SdistExtension {
    TarGz,
    Zip,
    TarBz2,
    TarXz,
    Tar,
}

impl SdistExtension {
    /// The recognised suffixes (none is a suffix of another, so order does not matter).
    const ALL: [(&'static str, Self); 5] = [
        (".tar.gz", Self::TarGz),
        (".zip", Self::Zip),
        (".tar.bz2", Self::TarBz2),
        (".tar.xz", Self::TarXz),
        (".tar", Self::Tar),
    ];
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SdistFilename {
    pub name: PackageName,
    pub version: Version,
    pub extension: SdistExtension,
}

impl SdistFilename {
    /// `{name}-{version}{extension}` where `name` normalises to `project`; the first `-` after
    /// which the rest is a valid version ends the name.
    fn parse(filename: &str, project: &PackageName) -> Option<Self> {
        let (stem, extension) = SdistExtension::ALL
            .iter()
            .find_map(|(suffix, extension)| filename.strip_suffix(suffix).map(|stem| (stem, *extension)))?;
        stem.match_indices('-').find_map(|(dash, _)| {
            let (name, version) = (&stem[..dash], &stem[dash + 1..]);
            if normalize(name) != project.as_ref() {
                return None;
            }
            let version = Version::from_str(version).ok()?;
            Some(Self { name: project.clone(), version, extension })
        })
    }
}

impl DistFilename {
    /// Parses `filename` as a file of `project`. Sdist names are ambiguous (`a-b-1.0.tar.gz`),
    /// so the known project name decides where the version starts. `None` for files that are
    /// not distributions of `project` (eggs, `.exe` installers, other projects, bad versions).
    pub fn parse(filename: &str, project: &PackageName) -> Option<Self> {
        if let Some(stem) = filename.strip_suffix(".whl") {
            return WheelFilename::parse(stem, project).map(Self::Wheel);
        }
        SdistFilename::parse(filename, project).map(Self::Sdist)
    }

    pub fn name(&self) -> &PackageName {
        match self {
            Self::Wheel(w) => &w.name,
            Self::Sdist(s) => &s.name,
        }
    }

    pub fn version(&self) -> &Version {
        match self {
            Self::Wheel(w) => &w.version,
            Self::Sdist(s) => &s.version,
        }
    }

    pub fn is_wheel(&self) -> bool {
        matches!(self, Self::Wheel(_))
    }
}
