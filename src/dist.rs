//! Distribution files as an index lists them, and their filenames (wheel and sdist).

use std::str::FromStr;

use pep508_rs::PackageName;
use pep508_rs::pep440_rs::Version;
use serde::Serialize;

/// A digest as the lowercase hex that indexes and `--hash` use.
pub fn lower_hex(digest: &[u8]) -> String {
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Whether `digest` is a sha256 in lowercase hex.
pub fn is_sha256_hex(digest: &str) -> bool {
    digest.len() == 64 && digest.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Hash algorithm name (lowercase, e.g. `sha256`) → lowercase hex digest, sorted by algorithm.
/// A short sorted list rather than a map: a page lists tens of thousands of files, nearly all
/// with a single hash, and a map's smallest node is ten times the size of one entry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Hashes(Vec<(String, String)>);

impl Hashes {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn get(&self, algorithm: &str) -> Option<&String> {
        self.position(algorithm).ok().map(|i| &self.0[i].1)
    }

    pub fn contains_key(&self, algorithm: &str) -> bool {
        self.position(algorithm).is_ok()
    }

    /// Sets the digest of `algorithm`, returning the one it replaces.
    pub fn insert(&mut self, algorithm: String, hex: String) -> Option<String> {
        match self.position(&algorithm) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, hex)),
            Err(i) => {
                self.0.insert(i, (algorithm, hex));
                None
            }
        }
    }

    /// `(algorithm, hex)` pairs, by algorithm.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &String)> {
        self.0.iter().map(|(algorithm, hex)| (algorithm, hex))
    }

    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.0.iter().map(|(algorithm, _)| algorithm)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn position(&self, algorithm: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(known, _)| known.as_str().cmp(algorithm))
    }
}

/// Later pairs win, as in a map.
impl FromIterator<(String, String)> for Hashes {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(pairs: I) -> Self {
        let mut hashes = Self::new();
        for (algorithm, hex) in pairs {
            hashes.insert(algorithm, hex);
        }
        hashes
    }
}

impl<const N: usize> From<[(String, String); N]> for Hashes {
    fn from(pairs: [(String, String); N]) -> Self {
        pairs.into_iter().collect()
    }
}

/// A JSON object, `{"sha256": "…"}`, as in the report schema.
impl Serialize for Hashes {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

/// Where a file's hashes were read from; reported so a reviewer can see the evidence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum HashSource {
    /// The `hashes` object of a PEP 691 JSON page.
    JsonPage,
    /// A `#<alg>=<hex>` fragment of a PEP 503 HTML link.
    HtmlFragment,
    /// The index gave no hash for this file.
    None,
    /// hashlock computed the sha256 from a download (`--compute-missing-hashes`): trust on
    /// first use.
    Computed,
}

/// Whether the index advertises a PEP 658/714 metadata file for a distribution.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum CoreMetadata {
    #[default]
    Absent,
    /// Advertised; the hashes (possibly empty) are those of the metadata file itself.
    Present(Hashes),
}

/// One file of a project, as listed on a simple-API page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DistFile {
    pub filename: String,
    /// Absolute URL as the page gave it (relative links resolved), fragment removed; parsed
    /// only when the file is fetched, since a page lists thousands of files and uses few.
    pub url: String,
    pub hashes: Hashes,
    pub hash_source: HashSource,
    /// Raw `requires-python` value (entity-decoded); parsed where it is used.
    pub requires_python: Option<String>,
    /// `Some(reason)` when yanked (PEP 592); the reason may be empty.
    pub yanked: Option<String>,
    pub core_metadata: CoreMetadata,
    pub size: Option<u64>,
    /// PEP 700 `upload-time`, which only JSON pages give.
    pub upload_time: Option<UploadTime>,
    /// Absolute URL of the file's PEP 740 provenance object, when the page lists one.
    pub provenance: Option<String>,
}

impl DistFile {
    /// The sha256 digest, when the index published one.
    pub fn sha256(&self) -> Option<&str> {
        self.hashes.get("sha256").map(String::as_str)
    }
}

/// When a file was uploaded, as a PEP 700 page gives it (`2024-01-02T03:04:05.123456Z`), kept
/// only when it is a real UTC date and time: it is written as a bare TOML datetime, where text
/// that is not one would break the file (or add to it), and Python's TOML reader rejects a
/// leap second, year 0 or a 30th of February.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadTime(String);

impl UploadTime {
    /// `YYYY-MM-DDTHH:MM:SS`, then optionally `.` and 1 to 9 digits, then `Z` or `+00:00`;
    /// kept with `Z`.
    pub fn parse(text: &str) -> Option<Self> {
        Self::utc_part(text).map(|utc| Self(format!("{utc}Z")))
    }

    /// Whether `text` is one, without keeping it (a warm run checks tens of thousands).
    pub fn is_valid(text: &str) -> bool {
        Self::utc_part(text).is_some()
    }

    /// `text` without its `Z` or `+00:00`, if it is an upload time.
    fn utc_part(text: &str) -> Option<&str> {
        let utc = text.strip_suffix('Z').or_else(|| text.strip_suffix("+00:00"))?;
        let (time, fraction) = match utc.split_once('.') {
            Some((time, fraction)) => (time, Some(fraction)),
            None => (utc, None),
        };
        if fraction.is_some_and(|f| !(1..=9).contains(&f.len()) || !f.bytes().all(|b| b.is_ascii_digit())) {
            return None;
        }
        let bytes = time.as_bytes();
        let separators = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')];
        if bytes.len() != 19 || separators.iter().any(|&(at, separator)| bytes[at] != separator) {
            return None;
        }
        let number = |from: usize, to: usize| {
            bytes[from..to].iter().try_fold(0u32, |n, &b| b.is_ascii_digit().then(|| n * 10 + u32::from(b - b'0')))
        };
        let (year, month, day) = (number(0, 4)?, number(5, 7)?, number(8, 10)?);
        let (hour, minute, second) = (number(11, 13)?, number(14, 16)?, number(17, 19)?);
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
        let days = match month {
            2 if leap => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            1..=12 => 31,
            _ => return None,
        };
        let valid = year >= 1 && (1..=days).contains(&day) && hour < 24 && minute < 60 && second < 60;
        valid.then_some(utc)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whether a lock's filename names the index's file: lock tools may write the project part
/// normalised (uv writes `pyyaml-6.0.2-….whl` for the index's `PyYAML-6.0.2-….whl`), and
/// indexes treat filenames case-insensitively.
pub fn same_filename(recorded: &str, published: &str) -> bool {
    recorded.eq_ignore_ascii_case(published)
}

/// Which kinds of file pip may install for a package (`--no-binary` / `--only-binary` narrow it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Formats {
    pub wheel: bool,
    pub sdist: bool,
}

impl Formats {
    pub const ANY: Self = Self { wheel: true, sdist: true };
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
    /// `.tar.gz` or `.tgz`.
    TarGz,
    Zip,
    TarBz2,
    TarXz,
    Tar,
}

impl SdistExtension {
    /// The recognised suffixes (none is a suffix of another, so order does not matter).
    const ALL: [(&'static str, Self); 6] = [
        (".tar.gz", Self::TarGz),
        (".tgz", Self::TarGz),
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

/// Longer filenames are no distribution: most filesystems hold at most 255 bytes in a name.
const MAX_FILENAME: usize = 255;

/// A distribution filename split into borrowed parts, validated but not yet owned: enough to
/// group a page's thousands of files by version and to check wheel tags without allocating.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FilenameParts<'a> {
    /// Tag fields are compressed sets, still joined with `.` (`py2.py3`).
    Wheel {
        version: &'a str,
        build: Option<&'a str>,
        python: &'a str,
        abi: &'a str,
        platform: &'a str,
    },
    Sdist {
        version: &'a str,
        extension: SdistExtension,
    },
}

impl<'a> FilenameParts<'a> {
    /// Splits `filename` as a file of `project` (see [`DistFilename::parse`]); the version is
    /// not parsed yet.
    pub fn split(filename: &'a str, project: &PackageName) -> Option<Self> {
        // A page's filename is the index's word: one that could name another path, or no
        // file a filesystem holds, is no distribution.
        if filename.len() > MAX_FILENAME || filename.contains(['/', '\\']) || filename.contains(char::is_control) {
            return None;
        }
        if let Some(stem) = filename.strip_suffix(".whl") {
            let mut fields = stem.split('-');
            let (name, version) = (fields.next()?, fields.next()?);
            let rest: [Option<&str>; 5] = std::array::from_fn(|_| fields.next());
            let (build, [python, abi, platform]) = match rest {
                [Some(python), Some(abi), Some(platform), None, _] => (None, [python, abi, platform]),
                [Some(build), Some(python), Some(abi), Some(platform), None] => (Some(build), [python, abi, platform]),
                _ => return None,
            };
            // PEP 425 tags and build tags are ASCII letters, digits and underscores.
            let plain = |tag: &str| !tag.is_empty() && tag.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
            let valid_set = |field: &str| field.split('.').all(plain);
            let valid = is_normalized_as(name, project)
                && build.is_none_or(|b| b.starts_with(|c: char| c.is_ascii_digit()) && plain(b))
                && [python, abi, platform].into_iter().all(valid_set);
            return valid.then_some(Self::Wheel { version, build, python, abi, platform });
        }
        let (stem, extension) = SdistExtension::ALL
            .iter()
            .find_map(|(suffix, extension)| filename.strip_suffix(suffix).map(|stem| (stem, *extension)))?;
        // Sdist names are ambiguous (`a-b-1.0.tar.gz`): the known project name ends at a dash.
        stem.match_indices('-')
            .map(|(dash, _)| (&stem[..dash], &stem[dash + 1..]))
            .find(|(name, _)| is_normalized_as(name, project))
            .map(|(_, version)| Self::Sdist { version, extension })
    }

    pub fn version(&self) -> &'a str {
        match self {
            Self::Wheel { version, .. } | Self::Sdist { version, .. } => version,
        }
    }
}

/// Whether `name` normalises (PEP 503) to `project`, without building the normalised string.
fn is_normalized_as(name: &str, project: &PackageName) -> bool {
    if name.is_ascii() {
        // The common case, byte by byte: no char decoding or Unicode case tables.
        let mut expected = project.as_ref().bytes();
        let mut in_separator_run = false;
        for byte in name.bytes() {
            if matches!(byte, b'-' | b'_' | b'.') {
                if !in_separator_run && expected.next() != Some(b'-') {
                    return false;
                }
                in_separator_run = true;
            } else {
                in_separator_run = false;
                if expected.next() != Some(byte.to_ascii_lowercase()) {
                    return false;
                }
            }
        }
        return expected.next().is_none();
    }
    let mut expected = project.as_ref().chars();
    let mut in_separator_run = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_separator_run && expected.next() != Some('-') {
                return false;
            }
            in_separator_run = true;
        } else {
            in_separator_run = false;
            for lower in c.to_lowercase() {
                if expected.next() != Some(lower) {
                    return false;
                }
            }
        }
    }
    expected.next().is_none()
}

impl DistFilename {
    /// Parses `filename` as a file of `project`. Sdist names are ambiguous (`a-b-1.0.tar.gz`),
    /// so the known project name decides where the version starts. `None` for files that are
    /// not distributions of `project` (eggs, `.exe` installers, other projects, bad versions).
    pub fn parse(filename: &str, project: &PackageName) -> Option<Self> {
        let parts = FilenameParts::split(filename, project)?;
        let version = Version::from_str(parts.version()).ok()?;
        Some(Self::from_parts(parts, project, version))
    }

    /// The owned filename from parts already split, with their version already parsed.
    pub fn from_parts(parts: FilenameParts<'_>, project: &PackageName, version: Version) -> Self {
        let tags = |set: &str| set.split('.').map(str::to_string).collect();
        match parts {
            FilenameParts::Wheel { build, python, abi, platform, .. } => Self::Wheel(WheelFilename {
                name: project.clone(),
                version,
                build: build.map(str::to_string),
                python_tags: tags(python),
                abi_tags: tags(abi),
                platform_tags: tags(platform),
            }),
            FilenameParts::Sdist { extension, .. } => {
                Self::Sdist(SdistFilename { name: project.clone(), version, extension })
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The allocation-free comparison agrees with PEP 503 normalisation, ASCII or not.
        #[test]
        fn is_normalized_as_agrees_with_normalize(name in "[a-zA-Z0-9._ÄÖé-]{1,12}", other in "[a-z0-9-]{1,12}") {
            let normalized = crate::index::simple::normalize(&name);
            if let Ok(project) = PackageName::from_str(&normalized) {
                proptest::prop_assert_eq!(is_normalized_as(&name, &project), project.as_ref() == normalized);
            }
            if let Ok(project) = PackageName::from_str(&other) {
                proptest::prop_assert_eq!(is_normalized_as(&name, &project), normalized == project.as_ref());
            }
        }
    }

    #[test]
    fn upload_times_are_real_utc_times() {
        let parsed = |text: &str| UploadTime::parse(text).map(|time| time.as_str().to_string());
        assert_eq!(parsed("2024-02-29T23:59:59.123456Z").as_deref(), Some("2024-02-29T23:59:59.123456Z"));
        assert_eq!(parsed("2000-02-29T00:00:00+00:00").as_deref(), Some("2000-02-29T00:00:00Z"));
        assert_eq!(parsed("0001-01-01T00:00:00.1Z").as_deref(), Some("0001-01-01T00:00:00.1Z"));
        for bad in [
            "2023-02-29T00:00:00Z",
            "1900-02-29T00:00:00Z",
            "2024-04-31T00:00:00Z",
            "2024-13-01T00:00:00Z",
            "0000-01-01T00:00:00Z",
            "2024-01-01T24:00:00Z",
            "2024-01-01T00:60:00Z",
            "2016-12-31T23:59:60Z",
            "2024-01-01T00:00:00",
            "2024-01-01T00:00:00+01:00",
            "2024-01-01 00:00:00Z",
            "2024-01-01T00:00:00.Z",
            "2024-01-01T00:00:00.1234567890Z",
            "2024-1-01T00:00:00Z",
            "+024-01-01T00:00:00Z",
            "2024-01-01T00:00:00Z\n[[packages]]",
            "2024-01-01T00:00:00.1\nx=1Z",
            "2024-01-01T00:00:0é",
        ] {
            assert_eq!(parsed(bad), None, "{bad:?}");
        }
    }

    proptest::proptest! {
        /// Any text: no panic, and what is kept is a TOML datetime as written.
        #[test]
        fn upload_time_parse_never_panics_and_keeps_only_toml_datetimes(
            text in r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{0,10})?(Z|\+00:00|.{0,3})|.{0,30}"
        ) {
            if let Some(time) = UploadTime::parse(&text) {
                let document: toml::Table = toml::from_str(&format!("t = {}", time.as_str())).unwrap();
                proptest::prop_assert!(matches!(document["t"], toml::Value::Datetime(_)), "{}", time.as_str());
            }
        }
    }

    #[test]
    fn hashes_behave_as_a_sorted_map_and_serialise_as_an_object() {
        let pair = |a: &str, h: &str| (a.to_string(), h.to_string());
        let hashes: Hashes = [pair("sha256", "bb"), pair("md5", "aa"), pair("sha256", "cc")].into_iter().collect();
        assert_eq!(hashes.keys().collect::<Vec<_>>(), ["md5", "sha256"]);
        assert_eq!(hashes.get("sha256").map(String::as_str), Some("cc"), "the later digest wins");
        assert!(hashes.contains_key("md5") && !hashes.contains_key("sha512"));
        assert_eq!(serde_json::to_string(&hashes).unwrap(), r#"{"md5":"aa","sha256":"cc"}"#);
    }

    fn name(s: &str) -> PackageName {
        PackageName::from_str(s).unwrap()
    }

    fn wheel(filename: &str, project: &str) -> Option<WheelFilename> {
        match DistFilename::parse(filename, &name(project))? {
            DistFilename::Wheel(w) => Some(w),
            DistFilename::Sdist(_) => panic!("{filename} parsed as an sdist"),
        }
    }

    fn sdist(filename: &str, project: &str) -> Option<SdistFilename> {
        match DistFilename::parse(filename, &name(project))? {
            DistFilename::Sdist(s) => Some(s),
            DistFilename::Wheel(_) => panic!("{filename} parsed as a wheel"),
        }
    }

    #[test]
    fn wheel_with_compressed_tags() {
        let w = wheel("six-1.16.0-py2.py3-none-any.whl", "six").unwrap();
        assert_eq!(w.version, Version::from_str("1.16.0").unwrap());
        assert_eq!(w.build, None);
        assert_eq!(w.python_tags, ["py2", "py3"]);
        assert_eq!(w.abi_tags, ["none"]);
        assert_eq!(w.platform_tags, ["any"]);
    }

    #[test]
    fn wheel_with_build_tag_and_underscored_name() {
        let w = wheel(
            "typing_extensions-4.0.0-1local-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
            "Typing.Extensions",
        )
        .unwrap();
        assert_eq!(w.name.as_ref(), "typing-extensions");
        assert_eq!(w.build.as_deref(), Some("1local"));
        assert_eq!(w.platform_tags, ["manylinux_2_17_x86_64", "manylinux2014_x86_64"]);
    }

    #[test]
    fn bad_wheels_are_rejected() {
        // Build tag must start with a digit.
        assert_eq!(wheel("pkg-1.0-local-py3-none-any.whl", "pkg"), None);
        // Another project.
        assert_eq!(wheel("other-1.0-py3-none-any.whl", "pkg"), None);
        // Too few or too many parts, bad version, empty tag in a set.
        assert_eq!(wheel("pkg-1.0-py3-none.whl", "pkg"), None);
        assert_eq!(wheel("pkg-1.0-1-2-py3-none-any.whl", "pkg"), None);
        assert_eq!(wheel("pkg-one-py3-none-any.whl", "pkg"), None);
        assert_eq!(wheel("pkg-1.0-py3.-none-any.whl", "pkg"), None);
    }

    #[test]
    fn sdists_of_every_extension() {
        for (filename, extension) in [
            ("pkg-1.0.tar.gz", SdistExtension::TarGz),
            ("pkg-1.0.tgz", SdistExtension::TarGz),
            ("pkg-1.0.zip", SdistExtension::Zip),
            ("pkg-1.0.tar.bz2", SdistExtension::TarBz2),
            ("pkg-1.0.tar.xz", SdistExtension::TarXz),
            ("pkg-1.0.tar", SdistExtension::Tar),
        ] {
            let s = sdist(filename, "pkg").unwrap_or_else(|| panic!("{filename}"));
            assert_eq!(s.extension, extension, "{filename}");
            assert_eq!(s.version, Version::from_str("1.0").unwrap());
        }
    }

    #[test]
    fn sdist_names_are_matched_after_normalisation() {
        assert_eq!(sdist("a_b-1.0.tar.gz", "a-b").unwrap().version, Version::from_str("1.0").unwrap());
        assert_eq!(sdist("A.B-1.0.tar.gz", "a-b").unwrap().name.as_ref(), "a-b");
        assert_eq!(sdist("a-b-2.0rc1.tar.gz", "a-b").unwrap().version, Version::from_str("2.0rc1").unwrap());
        // `a-b-1.0` is not a file of `a` (`b-1.0` is no version), nor of `a-b-c`.
        assert_eq!(sdist("a-b-1.0.tar.gz", "a"), None);
        assert_eq!(sdist("a-b-1.0.tar.gz", "a-b-c"), None);
    }

    /// A hostile page cannot slip in a filename that names another path or no file at all.
    #[test]
    fn hostile_filenames_are_not_distributions() {
        let project = name("pkg");
        let long = format!("pkg-1.0-py3-none-{}.whl", "a".repeat(240));
        for filename in [
            "../pkg-1.0.tar.gz",
            "/abs/pkg-1.0.tar.gz",
            "..\\pkg-1.0.tar.gz",
            "pkg-1.0-py3-none-a/b.whl",
            "pkg-1.0-py3-none-C:\\b.whl",
            "pkg-1.0-py3-none-any/../../x.whl",
            "pkg-1.0-1/x-py3-none-any.whl",
            "pkg-1.0-py3-none-any\0.whl",
            "pkg-1.0.tar.gz\0",
            "pkg-1.0\n.tar.gz",
            long.as_str(),
        ] {
            assert_eq!(DistFilename::parse(filename, &project), None, "{filename:?}");
            assert_eq!(FilenameParts::split(filename, &project), None, "{filename:?}");
        }
        assert!(DistFilename::parse(&format!("pkg-1.0-py3-none-{}.whl", "a".repeat(230)), &project).is_some());
    }

    #[test]
    fn non_distributions_are_none() {
        let project = name("pkg");
        for filename in ["pkg-1.0-py3.8.egg", "pkg-1.0.win32.exe", "pkg-1.0.rpm", "pkg.tar.gz", "pkg-.tar.gz"] {
            assert_eq!(DistFilename::parse(filename, &project), None, "{filename}");
        }
    }
}
