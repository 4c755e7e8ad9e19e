//! The environment a lock is for: Python version and implementation, OS and architecture.
//! Gives the PEP 508 marker environment and the wheel tags that environment accepts.
//!
//! A concrete target is one CPython. A universal target (`--universal`) is every OS and
//! architecture, CPython and PyPy, on a range of Python versions; its concrete fields then name the
//! environment whose wheels are preferred for reading metadata.
//!
//! A concrete target's wheel tags are CPython's. Wheel tags are ranked in the order `packaging.tags.sys_tags()`
//! yields them for CPython, so the best-ranked wheel is the one pip would install. Where pip reads
//! the running system (glibc version, macOS version), hashlock assumes a current one:
//! glibc up to 2.[`GLIBC_MAX_MINOR`] and macOS up to [`MACOS_MAX_MAJOR`]. musllinux wheels never
//! match (the Linux target is glibc).

use std::process::Command;
use std::str::FromStr;

use pep508_rs::pep440_rs::{Version, VersionSpecifiers};
use pep508_rs::{MarkerEnvironment, MarkerEnvironmentBuilder};

use crate::dist::WheelFilename;
use crate::index::pip_files::{self, Surroundings};

/// Newest glibc minor version assumed for `manylinux_2_N` tags.
const GLIBC_MAX_MINOR: u64 = 40;
/// Newest macOS major version assumed for `macosx_N_0` tags.
const MACOS_MAX_MAJOR: u64 = 15;
/// Newest CPython minor version assumed released: a universal lock must serve `3.lowest` up to it.
const LATEST_MINOR: u64 = 14;
/// Distance between tag groups in a rank, larger than any platform rank.
const GROUP_STRIDE: usize = 10_000;

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
    /// Universal mode: the `3.Y` versions the lock serves (lowest first), on every OS,
    /// architecture and implementation. `None` for one concrete environment.
    pub universal: Option<Vec<(u64, u64)>>,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TargetError(pub String);

const PLATFORM_HELP: &str = "expected an OS (`linux`, `macos`, `windows`), optionally with an architecture \
     (`x86_64`, `aarch64`/`arm64`) as `aarch64-linux`, `linux-aarch64` or a target triple such as \
     `aarch64-unknown-linux-gnu`";

impl Target {
    /// From `--python-version X.Y` and `--python-platform` (`linux`, `macos`, `windows`,
    /// optionally with an architecture: `aarch64-linux`, `x86_64-windows`); a missing part is
    /// taken from the `python3` on PATH (version) or the host (platform).
    pub fn from_options(python_version: Option<&str>, platform: Option<&str>) -> Result<Self, TargetError> {
        let (python, python_full) = match python_version {
            Some(text) => parse_python_version(text)?,
            None => detect_python()?,
        };
        let (os, arch) = match platform {
            Some(text) => parse_platform(text)?,
            None => host_platform()?,
        };
        Ok(Self { python, python_full, os, arch, universal: None })
    }

    /// `--universal`: Python from `python_version` (default: the `python3` on PATH's `3.Y`)
    /// up to the newest release, on every platform. Metadata is read from Linux x86_64 wheels
    /// of the lowest version first.
    pub fn universal(python_version: Option<&str>) -> Result<Self, TargetError> {
        let ((major, lowest), _) = match python_version {
            Some(text) => parse_python_version(text)?,
            None => detect_python()?,
        };
        let versions = (lowest..=LATEST_MINOR.max(lowest)).map(|minor| (major, minor)).collect();
        Ok(Self {
            python: (major, lowest),
            python_full: format!("{major}.{lowest}.0"),
            os: Os::Linux,
            arch: Arch::X86_64,
            universal: Some(versions),
        })
    }

    pub fn is_universal(&self) -> bool {
        self.universal.is_some()
    }

    /// The Python versions a candidate's `requires-python` must admit: the concrete one, or
    /// `3.Y.0` for each version a universal target serves.
    pub fn pythons(&self) -> Vec<Version> {
        match &self.universal {
            None => vec![self.python_full_version()],
            Some(versions) => versions.iter().map(|&(major, minor)| Version::new([major, minor, 0])).collect(),
        }
    }

    /// The lowest Python served (the concrete one for a concrete target).
    pub fn lowest_python(&self) -> Version {
        self.pythons().into_iter().next().unwrap_or_else(|| self.python_full_version())
    }

    /// Whether `requires_python` admits every Python the target serves.
    pub fn admits(&self, requires_python: &VersionSpecifiers) -> bool {
        self.pythons().iter().all(|python| requires_python.contains(python))
    }

    /// A universal target narrowed to the Python versions `keep` accepts (used by forks).
    pub fn with_pythons(&self, keep: impl Fn(&Version) -> bool) -> Self {
        let universal = self.universal.as_ref().map(|versions| {
            versions.iter().copied().filter(|&(major, minor)| keep(&Version::new([major, minor, 0]))).collect()
        });
        Self { universal, ..self.clone() }
    }

    /// Every concrete environment the target stands for (itself when concrete).
    pub fn environments(&self) -> Vec<Target> {
        let Some(versions) = &self.universal else { return vec![self.clone()] };
        let platforms = [Os::Linux, Os::Macos, Os::Windows]
            .into_iter()
            .flat_map(|os| [Arch::X86_64, Arch::Aarch64].into_iter().map(move |arch| (os, arch)));
        platforms
            .flat_map(|(os, arch)| {
                versions.iter().map(move |&python| Target {
                    python,
                    python_full: format!("{}.{}.0", python.0, python.1),
                    os,
                    arch,
                    universal: None,
                })
            })
            .collect()
    }

    /// `python_full` as a version; `X.Y.0` if it does not parse (it always does when built by
    /// [`Target::from_options`]).
    pub fn python_full_version(&self) -> Version {
        Version::from_str(&self.python_full).unwrap_or_else(|_| Version::new([self.python.0, self.python.1, 0]))
    }

    pub fn marker_environment(&self) -> MarkerEnvironment {
        let (os_name, sys_platform, platform_system) = match self.os {
            Os::Linux => ("posix", "linux", "Linux"),
            Os::Macos => ("posix", "darwin", "Darwin"),
            Os::Windows => ("nt", "win32", "Windows"),
        };
        let platform_machine = match (self.os, self.arch) {
            (Os::Linux, Arch::X86_64) | (Os::Macos, Arch::X86_64) => "x86_64",
            (Os::Linux, Arch::Aarch64) => "aarch64",
            (Os::Macos, Arch::Aarch64) => "arm64",
            (Os::Windows, Arch::X86_64) => "AMD64",
            (Os::Windows, Arch::Aarch64) => "ARM64",
        };
        let full = self.python_full_version().to_string();
        let short = format!("{}.{}", self.python.0, self.python.1);
        let builder = MarkerEnvironmentBuilder {
            implementation_name: "cpython",
            implementation_version: &full,
            os_name,
            platform_machine,
            platform_python_implementation: "CPython",
            platform_release: "",
            platform_system,
            platform_version: "",
            python_full_version: &full,
            python_version: &short,
            sys_platform,
        };
        MarkerEnvironment::try_from(builder).expect("versions built from numbers and a displayed Version parse")
    }

    /// Human description for headers: `CPython 3.11, linux x86_64`, or for a universal target
    /// `universal: CPython and PyPy >= 3.11 on Linux, macOS, Windows`.
    pub fn describe(&self) -> String {
        if self.universal.is_some() {
            let (major, minor) = self.python;
            return format!("universal: CPython and PyPy >= {major}.{minor} on Linux, macOS, Windows");
        }
        let os = match self.os {
            Os::Linux => "linux",
            Os::Macos => "macos",
            Os::Windows => "windows",
        };
        let arch = match self.arch {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
        };
        // A detected interpreter resolves for its patch release too (requires-python may say
        // `>=3.11.5`), so the description names the version the lock is really for.
        let (major, minor) = self.python;
        let version = match self.python_full.strip_prefix(&format!("{major}.{minor}")) {
            Some("" | ".0") => format!("{major}.{minor}"),
            _ => self.python_full.clone(),
        };
        format!("CPython {version}, {os} {arch}")
    }

    /// Rank of the best tag of a wheel for this target (lower is better), `None` if the
    /// wheel cannot be installed here. A universal target ranks by its preferred environment and
    /// ranks a wheel that only other environments install after all of those.
    pub fn wheel_priority(&self, wheel: &WheelFilename) -> Option<usize> {
        fn tags(set: &[String]) -> impl Iterator<Item = &str> + Clone {
            set.iter().map(String::as_str)
        }
        self.tags_priority(tags(&wheel.python_tags), tags(&wheel.abi_tags), tags(&wheel.platform_tags))
    }

    /// [`Target::wheel_priority`] for tag sets still joined with `.` (`py2.py3`), as
    /// [`crate::dist::FilenameParts`] gives them: scanning a page's wheels allocates nothing.
    pub fn joined_tags_priority(&self, python: &str, abi: &str, platform: &str) -> Option<usize> {
        self.tags_priority(python.split('.'), abi.split('.'), platform.split('.'))
    }

    fn tags_priority<'t>(
        &self,
        python: impl Iterator<Item = &'t str> + Clone,
        abi: impl Iterator<Item = &'t str> + Clone,
        platform: impl Iterator<Item = &'t str> + Clone,
    ) -> Option<usize> {
        let concrete = self.concrete_tags_priority(python.clone(), abi.clone(), platform.clone());
        if concrete.is_some() || self.universal.is_none() {
            return concrete;
        }
        self.environments()
            .iter()
            .any(|env| env.concrete_tags_priority(python.clone(), abi.clone(), platform.clone()).is_some())
            .then_some(usize::MAX)
    }

    fn concrete_tags_priority<'t>(
        &self,
        python: impl Iterator<Item = &'t str> + Clone,
        abi: impl Iterator<Item = &'t str> + Clone,
        platform: impl Iterator<Item = &'t str> + Clone,
    ) -> Option<usize> {
        let mut best = None;
        for python in python {
            for abi in abi.clone() {
                for platform in platform.clone() {
                    if let Some(rank) = self.tag_rank(python, abi, platform) {
                        best = Some(best.map_or(rank, |b: usize| b.min(rank)));
                    }
                }
            }
        }
        best
    }

    /// Rank of one `python-abi-platform` tag in `sys_tags()` order for CPython 3.X:
    /// `cp3X-cp3X-P`, `cp3X-abi3-P`, `cp3X-none-P`, `cp3M-abi3-P` (M = X-1 … 2),
    /// `py-none-P` (py3X, py3, py3(X-1) … py30), `cp3X-none-any`, `py-none-any` (same order);
    /// within a group, platforms rank by [`Target::platform_rank`].
    fn tag_rank(&self, python: &str, abi: &str, platform: &str) -> Option<usize> {
        let minor = self.python.1;
        let is_cp = |tag: &str| tag.strip_prefix("cp3").and_then(|m| m.parse::<u64>().ok()) == Some(minor);
        // The py tags in order: py3X, py3, py3(X-1), ..., py30.
        let py_index = |tag: &str| -> Option<usize> {
            let rest = tag.strip_prefix("py3")?;
            if rest.is_empty() {
                return Some(1);
            }
            let m: u64 = rest.parse().ok()?;
            match m {
                m if m == minor => Some(0),
                m if m < minor => Some(1 + (minor - m) as usize),
                _ => None,
            }
        };
        let abi3_groups = minor.saturating_sub(2) as usize; // cp3(X-1) ... cp32
        let py_groups = minor as usize + 2;
        let first_py_group = 3 + abi3_groups;
        let any_group = first_py_group + py_groups;

        if platform == "any" {
            if abi != "none" {
                return None;
            }
            let group = if is_cp(python) { any_group } else { any_group + 1 + py_index(python)? };
            return Some(group * GROUP_STRIDE);
        }
        let platform_rank = self.platform_rank(platform)?;
        let group = match (python, abi) {
            (p, a) if is_cp(p) && p == a => 0,
            (p, "abi3") if is_cp(p) => 1,
            (p, "none") if is_cp(p) => 2,
            (p, "abi3") => {
                let m: u64 = p.strip_prefix("cp3")?.parse().ok()?;
                if !(2..minor).contains(&m) {
                    return None;
                }
                3 + (minor - 1 - m) as usize
            }
            (p, "none") => first_py_group + py_index(p)?,
            _ => return None,
        };
        Some(group * GROUP_STRIDE + platform_rank)
    }

    /// Rank of a platform tag (lower is better), `None` when it cannot run on the target.
    fn platform_rank(&self, platform: &str) -> Option<usize> {
        match self.os {
            Os::Linux => self.linux_rank(platform),
            Os::Macos => self.macos_rank(platform),
            Os::Windows => {
                let wanted = match self.arch {
                    Arch::X86_64 => "win_amd64",
                    Arch::Aarch64 => "win_arm64",
                };
                (platform == wanted).then_some(0)
            }
        }
    }

    /// `manylinux_2_N_ARCH` from N = [`GLIBC_MAX_MINOR`] down to the oldest for the
    /// architecture (5 on x86_64, 17 on aarch64), each legacy alias (`manylinux1` = 2.5,
    /// `manylinux2010` = 2.12, `manylinux2014` = 2.17) right after its equivalent, then
    /// `linux_ARCH`, as packaging orders them.
    fn linux_rank(&self, platform: &str) -> Option<usize> {
        let (arch, oldest) = match self.arch {
            Arch::X86_64 => ("x86_64", 5),
            Arch::Aarch64 => ("aarch64", 17),
        };
        let rest = platform.strip_suffix(arch)?.strip_suffix('_')?;
        let glibc_rank = |minor: u64, alias: usize| -> Option<usize> {
            (oldest..=GLIBC_MAX_MINOR).contains(&minor).then(|| (GLIBC_MAX_MINOR - minor) as usize * 2 + alias)
        };
        match rest {
            "linux" => Some((GLIBC_MAX_MINOR - oldest + 1) as usize * 2),
            "manylinux1" => glibc_rank(5, 1),
            "manylinux2010" => glibc_rank(12, 1),
            "manylinux2014" => glibc_rank(17, 1),
            _ => glibc_rank(rest.strip_prefix("manylinux_2_")?.parse().ok()?, 0),
        }
    }

    /// `macosx_V_FORMAT` for V from `MACOS_MAX_MAJOR.0` down to 11.0, then 10.16 down to 10.4;
    /// formats per version as packaging lists them. arm64 runs on 11.0 and later, but
    /// `universal2` wheels built for 10.x are accepted there too.
    fn macos_rank(&self, platform: &str) -> Option<usize> {
        const X86_FORMATS: &[&str] = &["x86_64", "intel", "fat64", "fat32", "universal2", "universal"];
        const ARM_FORMATS: &[&str] = &["arm64", "universal2"];
        let rest = platform.strip_prefix("macosx_")?;
        let mut parts = rest.splitn(3, '_');
        let major: u64 = parts.next()?.parse().ok()?;
        let minor: u64 = parts.next()?.parse().ok()?;
        let format = parts.next()?;
        let version_rank = match (major, minor) {
            (11.., 0) if major <= MACOS_MAX_MAJOR => (MACOS_MAX_MAJOR - major) as usize,
            (10, 4..=16) => (MACOS_MAX_MAJOR - 10) as usize + (16 - minor) as usize,
            _ => return None,
        };
        let formats = match self.arch {
            Arch::X86_64 => X86_FORMATS,
            Arch::Aarch64 if major >= 11 => ARM_FORMATS,
            Arch::Aarch64 => &["universal2"],
        };
        let format_rank = formats.iter().position(|f| *f == format)?;
        Some(version_rank * X86_FORMATS.len() + format_rank)
    }
}

/// `X.Y` or `X.Y.Z` (CPython 3 only) → `((X, Y), full)`; `X.Y` means `X.Y.0`.
fn parse_python_version(text: &str) -> Result<((u64, u64), String), TargetError> {
    let bad = || TargetError(format!("invalid --python-version `{text}`: expected `3.Y` or `3.Y.Z`, e.g. `3.11`"));
    let numbers: Vec<u64> =
        text.trim().split('.').map(|part| part.parse().map_err(|_| bad())).collect::<Result<_, _>>()?;
    match numbers[..] {
        [3, minor] => Ok(((3, minor), format!("3.{minor}.0"))),
        [3, minor, patch] => Ok(((3, minor), format!("3.{minor}.{patch}"))),
        [major, ..] if major != 3 && (2..=3).contains(&numbers.len()) => {
            Err(TargetError(format!("unsupported --python-version `{text}`: hashlock targets CPython 3")))
        }
        _ => Err(bad()),
    }
}

/// The version of the `python3` on PATH.
fn detect_python() -> Result<((u64, u64), String), TargetError> {
    let failed = |why: String| {
        TargetError(format!(
            "no --python-version given and the `python3` on PATH could not tell its version ({why}); pass --python-version X.Y"
        ))
    };
    let python = pip_files::python3_on_path(&Surroundings::of_process()).unwrap_or_else(|| "python3".into());
    // Isolated and without `site`: neither changes the version, and `site` is most of a start.
    let output = Command::new(python)
        .args(["-I", "-S", "-c", "import platform; print(platform.python_version())"])
        .output()
        .map_err(|e| failed(e.to_string()))?;
    if !output.status.success() {
        return Err(failed(format!("it exited with {}", output.status)));
    }
    let text = String::from_utf8_lossy(&output.stdout).trim().to_string();
    parse_detected(&text).ok_or_else(|| failed(format!("it printed `{text}`")))
}

/// `3.11.4` or `3.13.0rc1` as printed by `platform.python_version()`.
fn parse_detected(text: &str) -> Option<((u64, u64), String)> {
    let version = Version::from_str(text).ok()?;
    match version.release() {
        [3, minor, ..] => Some(((3, *minor), text.to_string())),
        _ => None,
    }
}

fn host_platform() -> Result<(Os, Arch), TargetError> {
    let os = match std::env::consts::OS {
        "linux" => Os::Linux,
        "macos" => Os::Macos,
        "windows" => Os::Windows,
        other => {
            return Err(TargetError(format!(
                "this machine's OS ({other}) is not a supported target; pass --python-platform: {PLATFORM_HELP}"
            )));
        }
    };
    let arch = match std::env::consts::ARCH {
        "x86_64" => Arch::X86_64,
        "aarch64" => Arch::Aarch64,
        other => {
            return Err(TargetError(format!(
                "this machine's architecture ({other}) is not a supported target; pass --python-platform: {PLATFORM_HELP}"
            )));
        }
    };
    Ok((os, arch))
}

/// `linux`, `x86_64-linux`, `linux-aarch64`, `aarch64-unknown-linux-gnu`, `arm64-apple-darwin`,
/// `x86_64-pc-windows-msvc`: `-`-separated words in any order, one OS, at most one architecture
/// (x86_64 when absent), and the vendor/ABI words of target triples.
fn parse_platform(text: &str) -> Result<(Os, Arch), TargetError> {
    let bad = |why: &str| TargetError(format!("invalid --python-platform `{text}`: {why}; {PLATFORM_HELP}"));
    let (mut os, mut arch) = (None, None);
    for word in text.trim().to_ascii_lowercase().split('-') {
        let (slot_os, slot_arch) = match word {
            "linux" => (Some(Os::Linux), None),
            "macos" | "darwin" | "macosx" => (Some(Os::Macos), None),
            "windows" | "win" | "win32" => (Some(Os::Windows), None),
            "x86_64" | "amd64" | "x64" => (None, Some(Arch::X86_64)),
            "aarch64" | "arm64" => (None, Some(Arch::Aarch64)),
            "unknown" | "pc" | "apple" | "gnu" | "msvc" => (None, None),
            "musl" => return Err(bad("musl (musllinux) targets are not supported")),
            other => return Err(bad(&format!("unknown word `{other}`"))),
        };
        if let Some(found) = slot_os
            && os.replace(found).is_some()
        {
            return Err(bad("more than one OS"));
        }
        if let Some(found) = slot_arch
            && arch.replace(found).is_some()
        {
            return Err(bad("more than one architecture"));
        }
    }
    let os = os.ok_or_else(|| bad("no OS"))?;
    Ok((os, arch.unwrap_or(Arch::X86_64)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(python: &str, platform: &str) -> Target {
        Target::from_options(Some(python), Some(platform)).expect("valid target")
    }

    fn wheel(tags: &str) -> WheelFilename {
        let mut parts = tags.split('-');
        let mut next = || parts.next().expect("three tags").split('.').map(str::to_string).collect::<Vec<_>>();
        WheelFilename {
            name: "demo".parse().expect("name"),
            version: Version::new([1, 0]),
            build: None,
            python_tags: next(),
            abi_tags: next(),
            platform_tags: next(),
        }
    }

    fn rank(target: &Target, tags: &str) -> Option<usize> {
        target.wheel_priority(&wheel(tags))
    }

    /// Asserts that each tag triple ranks strictly better than the next, and all are installable.
    fn assert_order(target: &Target, tags: &[&str]) {
        let ranks: Vec<Option<usize>> = tags.iter().map(|t| rank(target, t)).collect();
        for (tag, r) in tags.iter().zip(&ranks) {
            assert!(r.is_some(), "{tag} should install on {}", target.describe());
        }
        for pair in tags.windows(2).zip(ranks.windows(2)) {
            assert!(pair.1[0] < pair.1[1], "{} should beat {}", pair.0[0], pair.0[1]);
        }
    }

    #[test]
    fn linux_order_follows_pip() {
        let linux = target("3.11", "linux");
        assert_order(
            &linux,
            &[
                "cp311-cp311-manylinux_2_28_x86_64",
                "cp311-cp311-manylinux_2_17_x86_64",
                "cp311-cp311-manylinux2014_x86_64",
                "cp311-cp311-manylinux1_x86_64",
                "cp311-cp311-linux_x86_64",
                "cp311-abi3-manylinux_2_17_x86_64",
                "cp311-none-manylinux_2_17_x86_64",
                "cp39-abi3-manylinux_2_17_x86_64",
                "cp37-abi3-manylinux_2_17_x86_64",
                "py311-none-manylinux1_x86_64",
                "py3-none-manylinux1_x86_64",
                "py38-none-manylinux1_x86_64",
                "cp311-none-any",
                "py311-none-any",
                "py3-none-any",
                "py30-none-any",
            ],
        );
    }

    #[test]
    fn compressed_tag_sets_take_the_best_member() {
        let linux = target("3.11", "linux");
        assert_eq!(
            rank(&linux, "cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64"),
            rank(&linux, "cp311-cp311-manylinux_2_17_x86_64")
        );
        assert_eq!(rank(&linux, "py2.py3-none-any"), rank(&linux, "py3-none-any"));
    }

    #[test]
    fn wheels_for_other_targets_are_not_installable() {
        let linux = target("3.11", "linux");
        for tags in [
            "cp311-cp311-musllinux_1_2_x86_64",
            "cp311-cp311-manylinux_2_17_aarch64",
            "cp311-cp311-win_amd64",
            "cp311-cp311-macosx_11_0_arm64",
            "cp312-cp312-manylinux_2_17_x86_64",
            "cp310-cp310-manylinux_2_17_x86_64",
            "cp312-abi3-manylinux_2_17_x86_64",
            "py312-none-any",
            "py2-none-any",
            "pp310-pypy310_pp73-manylinux_2_17_x86_64",
            "cp311-cp311-manylinux_2_41_x86_64",
        ] {
            assert_eq!(rank(&linux, tags), None, "{tags} must not install on linux x86_64 CPython 3.11");
        }
        let arm = target("3.11", "aarch64-linux");
        assert!(rank(&arm, "cp311-cp311-manylinux2014_aarch64").is_some());
        assert_eq!(rank(&arm, "cp311-cp311-manylinux1_aarch64"), None, "manylinux1 never covered aarch64");
        assert_eq!(rank(&arm, "cp311-cp311-manylinux_2_17_x86_64"), None);
    }

    #[test]
    fn macos_and_windows_tags() {
        let arm = target("3.12", "arm64-macos");
        assert_order(
            &arm,
            &[
                "cp312-cp312-macosx_14_0_arm64",
                "cp312-cp312-macosx_11_0_arm64",
                "cp312-cp312-macosx_10_9_universal2",
                "py3-none-any",
            ],
        );
        assert_eq!(rank(&arm, "cp312-cp312-macosx_10_9_x86_64"), None);
        assert_eq!(rank(&arm, "cp312-cp312-macosx_16_0_arm64"), None, "newer than the assumed macOS");
        let intel = target("3.12", "macos");
        assert_order(
            &intel,
            &[
                "cp312-cp312-macosx_11_0_x86_64",
                "cp312-cp312-macosx_10_13_x86_64",
                "cp312-cp312-macosx_10_9_universal2",
            ],
        );
        assert_eq!(rank(&intel, "cp312-cp312-macosx_11_0_arm64"), None);
        let windows = target("3.12", "windows");
        assert!(rank(&windows, "cp312-cp312-win_amd64").is_some());
        assert_eq!(rank(&windows, "cp312-cp312-win32"), None);
        assert_eq!(rank(&windows, "cp312-cp312-win_arm64"), None);
        assert!(rank(&target("3.12", "aarch64-windows"), "cp312-cp312-win_arm64").is_some());
    }

    #[test]
    fn marker_environment_values() {
        let cases = [
            ("linux", "posix", "linux", "Linux", "x86_64"),
            ("aarch64-linux", "posix", "linux", "Linux", "aarch64"),
            ("macos", "posix", "darwin", "Darwin", "x86_64"),
            ("aarch64-apple-darwin", "posix", "darwin", "Darwin", "arm64"),
            ("windows", "nt", "win32", "Windows", "AMD64"),
            ("arm64-windows", "nt", "win32", "Windows", "ARM64"),
        ];
        for (platform, os_name, sys_platform, system, machine) in cases {
            let env = target("3.11", platform).marker_environment();
            assert_eq!(env.os_name(), os_name, "{platform}");
            assert_eq!(env.sys_platform(), sys_platform, "{platform}");
            assert_eq!(env.platform_system(), system, "{platform}");
            assert_eq!(env.platform_machine(), machine, "{platform}");
            assert_eq!(env.implementation_name(), "cpython");
            assert_eq!(env.platform_python_implementation(), "CPython");
            assert_eq!(env.python_version().string, "3.11");
            assert_eq!(env.python_full_version().string, "3.11.0");
        }
        let env = target("3.12.4", "linux").marker_environment();
        assert_eq!(env.python_full_version().string, "3.12.4");
        assert_eq!(env.implementation_version().string, "3.12.4");
        let marker: pep508_rs::Requirement =
            "a ; python_full_version >= '3.12.3' and sys_platform == 'linux'".parse().expect("valid");
        assert!(marker.evaluate_markers(&env, &[]));
    }

    #[test]
    fn platform_spellings() {
        let cases = [
            ("linux", Os::Linux, Arch::X86_64),
            ("x86_64-linux", Os::Linux, Arch::X86_64),
            ("aarch64-linux", Os::Linux, Arch::Aarch64),
            ("linux-aarch64", Os::Linux, Arch::Aarch64),
            ("aarch64-unknown-linux-gnu", Os::Linux, Arch::Aarch64),
            ("MacOS", Os::Macos, Arch::X86_64),
            ("aarch64-apple-darwin", Os::Macos, Arch::Aarch64),
            ("x86_64-pc-windows-msvc", Os::Windows, Arch::X86_64),
        ];
        for (text, os, arch) in cases {
            let t = target("3.11", text);
            assert_eq!((t.os, t.arch), (os, arch), "{text}");
        }
        assert_eq!(target("3.11", "linux").describe(), "CPython 3.11, linux x86_64");
        assert_eq!(target("3.13", "aarch64-macos").describe(), "CPython 3.13, macos aarch64");
        assert_eq!(target("3.11.7", "windows").describe(), "CPython 3.11.7, windows x86_64");
    }

    #[test]
    fn bad_options_are_explained() {
        for (python, platform, expected) in [
            ("3.11", "solaris", "unknown word `solaris`"),
            ("3.11", "x86_64", "no OS"),
            ("3.11", "linux-macos", "more than one OS"),
            ("3.11", "x86_64-unknown-linux-musl", "musl"),
            ("three", "linux", "expected `3.Y` or `3.Y.Z`"),
            ("3", "linux", "expected `3.Y` or `3.Y.Z`"),
            ("3.11.0.1", "linux", "expected `3.Y` or `3.Y.Z`"),
            ("2.7", "linux", "hashlock targets CPython 3"),
        ] {
            let error = Target::from_options(Some(python), Some(platform)).expect_err("invalid");
            assert!(error.0.contains(expected), "{python} {platform}: {}", error.0);
        }
        let error = Target::from_options(Some("3.11"), Some("bsd")).expect_err("invalid");
        assert!(error.0.contains("`linux`, `macos`, `windows`"), "lists accepted values: {}", error.0);
    }

    #[test]
    fn detected_versions() {
        assert_eq!(parse_detected("3.11.4"), Some(((3, 11), "3.11.4".to_string())));
        assert_eq!(parse_detected("3.13.0rc1"), Some(((3, 13), "3.13.0rc1".to_string())));
        assert_eq!(parse_detected("2.7.18"), None);
        assert_eq!(parse_detected("garbage"), None);
    }

    #[test]
    fn universal_serves_every_platform_from_the_lowest_python() {
        let universal = Target::universal(Some("3.12")).expect("target");
        assert_eq!(universal.describe(), "universal: CPython and PyPy >= 3.12 on Linux, macOS, Windows");
        assert_eq!(universal.lowest_python(), Version::new([3, 12, 0]));
        assert!(universal.admits(&VersionSpecifiers::from_str(">=3.12,<4").expect("valid")));
        assert!(!universal.admits(&VersionSpecifiers::from_str(">=3.13").expect("valid")));
        assert!(!universal.admits(&VersionSpecifiers::from_str("<3.14").expect("valid")));
        assert!(rank(&universal, "cp313-cp313-win_amd64") > rank(&universal, "cp312-cp312-manylinux_2_17_x86_64"));
        assert!(rank(&universal, "cp311-cp311-win_amd64").is_none(), "below the lowest Python");
        assert!(rank(&universal, "cp312-cp312-musllinux_1_2_x86_64").is_none());
        let older = universal.with_pythons(|python| *python < Version::new([3, 13]));
        assert_eq!(older.pythons(), [Version::new([3, 12, 0])]);
        assert!(universal.environments().iter().any(|env| env.describe() == "CPython 3.13, windows aarch64"));
    }
}
