//! Rendering: the `--require-hashes` requirements file and the reports, and writing them
//! without ever leaving a partial file behind.

pub mod report;
pub mod requirements;

use std::io::Write;
use std::path::Path;

/// Writes `contents` to `path` via a temporary file in the same directory and a rename, so a
/// reader sees the old file or the new one, never a mix, and a failed run leaves it untouched.
pub fn write_atomic(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut temp = tempfile::NamedTempFile::new_in(dir)?;
    temp.write_all(contents)?;
    temp.as_file().sync_all()?;
    temp.persist(path).map_err(|e| e.error)?;
    Ok(())
}
