//! The environment a lock is for: Python version and implementation, OS and architecture.
//! Gives the PEP 508 marker environment and the wheel tags that environment accepts.

use pep508_rs::MarkerEnvironment;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Os {
    Linux,
    Macos,
    Windows,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arch {
    X86_64,
    Aarch64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// `(major, minor)`, e.g. `(3, 11)`.
    pub python: (u64, u64),
    /// Full version for `python_full_version` markers; `X.Y.0` unless detected.
    pub python_full: String,
    pub os: Os,
    pub arch: Arch,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TargetError(pub String);

impl Target {
    /// From `--python-version X.Y` and `--python-platform` (`linux`, `macos`, `windows`,
    /// optionally with an architecture: `aarch64-linux`, `x86_64-windows`); a missing part is
    /// taken from the `python3` on PATH (version) or the host (platform).
    pub fn from_options(python_version: Option<&str>, platform: Option<&str>) -> Result<Self, TargetError> {
        let _ = (python_version, platform);
        todo!()
    }

    pub fn marker_environment(&self) -> MarkerEnvironment {
        todo!()
    }

    /// Human description for headers: `CPython 3.11, linux x86_64`.
    pub fn describe(&self) -> String {
        todo!()
    }

    /// Rank of the best tag of a wheel for this target (lower is better), `None` if the
    /// wheel cannot be installed here.
    pub fn wheel_priority(&self, wheel: &crate::dist::WheelFilename) -> Option<usize> {
        let _ = wheel;
        todo!()
    }
}
