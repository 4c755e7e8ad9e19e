//! Project pages of the simple repository API: PEP 691 JSON and PEP 503 HTML.

use pep508_rs::PackageName;
use reqwest::Url;
use serde::{Deserialize, Serialize};

use crate::dist::DistFile;

/// The `Accept` header hashlock sends for project pages (JSON preferred, HTML accepted).
pub const ACCEPT: &str =
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PageFormat {
    Json,
    Html,
}

/// One index's page for one project.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectPage {
    pub name: PackageName,
    /// The page's own URL (after redirects): relative file links resolve against it.
    pub url: Url,
    pub format: PageFormat,
    pub files: Vec<DistFile>,
}

#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct PageError {
    pub message: String,
}

/// Parses a page by its Content-Type: PEP 691 JSON (`application/vnd.pypi.simple.v1+json`)
/// or HTML (`application/vnd.pypi.simple.v1+html`, `text/html`, or no type at all).
pub fn parse_page(
    name: &PackageName,
    url: &Url,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<ProjectPage, PageError> {
    let _ = (name, url, content_type, body);
    todo!()
}

/// PEP 503 normalised name as used in URLs: lowercase, runs of `-_.` become `-`.
pub fn normalize(name: &str) -> String {
    let _ = name;
    todo!()
}
