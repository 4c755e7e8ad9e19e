//! [`IndexSource`]: the real [`Source`](super::Source): pages and metadata from the index,
//! each fetched once, on a rayon pool sized for I/O, with prefetching.

use std::sync::Arc;

use pep508_rs::PackageName;
use pep508_rs::pep440_rs::Version;

use crate::index::{IndexClient, IndexError, Project};
use crate::metadata::{Metadata, MetadataError};
use crate::resolve::Source;
use crate::target::Target;

pub struct IndexSource<'a> {
    client: &'a IndexClient,
    target: Target,
}

impl<'a> IndexSource<'a> {
    /// `jobs`: requests in flight at most.
    pub fn new(client: &'a IndexClient, target: Target, jobs: usize) -> Self {
        let _ = jobs;
        Self { client, target }
    }
}

impl IndexSource<'_> {
    /// One line for the progress display.
    pub fn status(&self) -> String {
        todo!()
    }
}

impl Source for IndexSource<'_> {
    fn project(&self, name: &PackageName) -> Result<Arc<Project>, IndexError> {
        let _ = (name, self.client, &self.target);
        todo!()
    }

    fn metadata(&self, project: &Project, version: &Version) -> Result<Arc<Metadata>, MetadataError> {
        let _ = (project, version);
        todo!()
    }
}
