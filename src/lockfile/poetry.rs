//! Reader for Poetry lockfiles (placeholder until its reader lands).

use std::path::Path;

use crate::lockfile::{LockFormat, Lockfile, LockfileError};

pub fn parse(_text: &str, path: &Path) -> Result<Lockfile, LockfileError> {
    Err(LockfileError::invalid(path, 1, format!("{} is not readable yet", LockFormat::Poetry.describe())))
}
