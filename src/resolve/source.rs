//! [`IndexSource`]: the real [`Source`](super::Source): pages and metadata from the index,
//! each fetched once, on a rayon pool sized for I/O, with prefetching.

use crate::index::IndexClient;
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
