//! Rendering: the `--require-hashes` requirements file, the PEP 751 lock and the reports, and
//! writing them without ever leaving a partial file behind.

pub mod color;
pub mod line;
pub mod pylock;
pub mod report;
pub mod requirements;
pub mod sarif;

use std::io::Write;
use std::path::Path;

/// `1 request`, `2 requests`: `n` with the noun that agrees with it.
pub fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// What `generate` writes, named as uv's `--format` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LockOutput {
    /// A pip requirements file with `--hash` options.
    #[value(name = "requirements.txt")]
    Requirements,
    /// A PEP 751 lock.
    #[value(name = "pylock.toml")]
    Pylock,
}

impl LockOutput {
    /// `format`, else what the output's name says (pip reads `pylock.toml` and
    /// `pylock.NAME.toml` as locks, any other name as a requirements file); a requirements
    /// file to stdout. A format the name contradicts is refused: pip would read the file as
    /// the other format.
    pub fn choose(format: Option<Self>, output: Option<&Path>) -> Result<Self, String> {
        let Some(path) = output else { return Ok(format.unwrap_or(Self::Requirements)) };
        let named_lock = crate::lockfile::is_lock_name(path);
        match (format, named_lock) {
            (Some(Self::Pylock), false) => Err(format!(
                "{}: pip reads a lock only under the name pylock.toml or pylock.NAME.toml (NAME without dots), and this file as a requirements file",
                path.display()
            )),
            (Some(Self::Requirements), true) => Err(format!(
                "{}: pip reads a file of this name as a PEP 751 lock, not as a requirements file; name it otherwise, or pass --format pylock.toml",
                path.display()
            )),
            _ if named_lock => Ok(Self::Pylock),
            _ => Ok(Self::Requirements),
        }
    }
}

/// Writes `contents` to `path` via a temporary file in the same directory and a rename, so a
/// reader sees the old file or the new one, never a mix, and a failed run leaves it untouched.
/// A symlink stays a symlink (its target is replaced), an existing file keeps its permissions,
/// and what is not a regular file (`/dev/null`, `/dev/stdout`, a FIFO) is written straight
/// through: renaming over it would replace the device itself. The file is not synced to disk
/// (nor do pip-compile's or uv's outputs): a sync cost a warm run a twentieth of its time, and
/// what it guards against, a power cut in the next seconds, is the file system's to recover.
pub fn write_atomic(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let existing = std::fs::metadata(&path).ok();
    if let Some(metadata) = &existing
        && !metadata.is_file()
    {
        return std::fs::OpenOptions::new().write(true).open(&path)?.write_all(contents);
    }
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(std::io::Error::new(std::io::ErrorKind::NotFound, format!("no directory {}", dir.display())));
    }
    // tempfile names its temporary file in errors; to the user only the kind of failure matters.
    let mut temp = tempfile::NamedTempFile::new_in(dir).map_err(|error| std::io::Error::from(error.kind()))?;
    temp.write_all(contents)?;
    // A new file gets the usual 0644 rather than the temporary file's private 0600.
    let permissions = match &existing {
        Some(metadata) => metadata.permissions(),
        None => new_file_permissions(temp.as_file().metadata()?.permissions()),
    };
    temp.as_file().set_permissions(permissions)?;
    temp.persist(&path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(unix)]
fn new_file_permissions(mut permissions: std::fs::Permissions) -> std::fs::Permissions {
    use std::os::unix::fs::PermissionsExt;
    permissions.set_mode(0o644);
    permissions
}

#[cfg(not(unix))]
fn new_file_permissions(permissions: std::fs::Permissions) -> std::fs::Permissions {
    permissions
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_agree_with_their_noun() {
        assert_eq!(count(1, "retry", "retries"), "1 retry");
        assert_eq!(count(0, "retry", "retries"), "0 retries");
        assert_eq!(count(2, "request", "requests"), "2 requests");
    }

    #[test]
    fn replaces_a_file_and_leaves_no_temporary_behind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.txt");
        std::fs::write(&path, "old").unwrap();
        write_atomic(&path, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn keeps_symlinks_permissions_and_devices() {
        use std::os::unix::fs::{FileTypeExt, PermissionsExt};
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target.txt");
        std::fs::write(&target, "old").unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).unwrap();
        let link = dir.path().join("link.txt");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        write_atomic(&link, b"new").unwrap();
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "new");
        assert_eq!(std::fs::metadata(&target).unwrap().permissions().mode() & 0o777, 0o640);

        let fresh = dir.path().join("fresh.txt");
        write_atomic(&fresh, b"x").unwrap();
        assert_eq!(std::fs::metadata(&fresh).unwrap().permissions().mode() & 0o777, 0o644);

        let null = Path::new("/dev/null");
        if std::fs::metadata(null).is_ok_and(|m| m.file_type().is_char_device()) {
            write_atomic(null, b"discarded").unwrap();
            assert!(std::fs::metadata(null).unwrap().file_type().is_char_device(), "/dev/null was replaced");
        }
    }
}
