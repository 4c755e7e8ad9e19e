//! Distribution files as an index lists them, and their filenames (wheel and sdist).

use std::collections::BTreeMap;

use pep508_rs::PackageName;
use pep508_rs::pep440_rs::Version;
use reqwest::Url;
use serde::{Deserialize, Serialize};

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

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SdistExtension {
    TarGz,
    Zip,
    TarBz2,
    TarXz,
    Tar,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SdistFilename {
    pub name: PackageName,
    pub version: Version,
    pub extension: SdistExtension,
}

impl DistFilename {
    /// Parses `filename` as a file of `project`. Sdist names are ambiguous (`a-b-1.0.tar.gz`),
    /// so the known project name decides where the version starts. `None` for files that are
    /// not distributions of `project` (eggs, `.exe` installers, other projects, bad versions).
    pub fn parse(filename: &str, project: &PackageName) -> Option<Self> {
        let _ = (filename, project);
        todo!()
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
