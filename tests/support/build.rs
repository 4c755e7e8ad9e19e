//! Real, small Python distributions built in memory: wheels pip installs (a `.dist-info` with
//! METADATA, WHEEL and a RECORD of urlsafe-base64 sha256 digests, plus one importable module)
//! and sdists with a `PKG-INFO` (and a `setup.py`, so pip could build them if asked).

use std::io::{Cursor, Write};

use flate2::Compression;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

/// A built distribution file.
#[derive(Clone, Debug)]
pub struct Built {
    pub filename: String,
    pub bytes: Vec<u8>,
    /// The core metadata text (`METADATA` of a wheel, `PKG-INFO` of an sdist).
    pub metadata: String,
}

/// PEP 503 normalised name: `Foo_Bar.baz` → `foo-bar-baz`.
pub fn normalise(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// The name as it appears in wheel and sdist filenames and as the import name: `foo_bar`.
pub fn escaped(name: &str) -> String {
    normalise(name).replace('-', "_")
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// What a wheel holds; [`wheel`] covers the common case, `payload` pads the wheel with
/// incompressible bytes (stored before the `.dist-info`) to make range requests matter.
#[derive(Clone, Debug, Default)]
pub struct WheelSpec<'a> {
    pub name: &'a str,
    pub version: &'a str,
    /// A compressed tag set such as `py3-none-any` or `cp311-cp311-win_amd64`.
    pub tags: &'a str,
    pub requires_dist: &'a [&'a str],
    pub requires_python: Option<&'a str>,
    /// `(extra, its requirements)`: each becomes `Provides-Extra` and `Requires-Dist: req; extra == "x"`.
    pub extras: &'a [(&'a str, &'a [&'a str])],
    pub payload: usize,
    /// `(path, text)` files that replace the default module (a build backend, say).
    pub files: &'a [(&'a str, &'a str)],
    /// A member whose RECORD line carries a wrong digest (real wheels do; installers do not
    /// check).
    pub wrong_record: Option<&'a str>,
}

/// A pure wheel with one module, `import <escaped name>`, whose `__version__` is `version`.
pub fn wheel(
    name: &str,
    version: &str,
    tags: &str,
    requires_dist: &[&str],
    requires_python: Option<&str>,
    extras: &[(&str, &[&str])],
) -> Built {
    WheelSpec { name, version, tags, requires_dist, requires_python, extras, ..WheelSpec::default() }.build()
}

impl WheelSpec<'_> {
    pub fn build(&self) -> Built {
        let import = escaped(self.name);
        let dist_info = format!("{import}-{}.dist-info", self.version);
        let metadata =
            metadata_text("2.1", self.name, self.version, self.requires_dist, self.requires_python, self.extras, &[]);
        let mut entries: Vec<(String, Vec<u8>)> = match self.files {
            [] => vec![(format!("{import}/__init__.py"), format!("__version__ = \"{}\"\n", self.version).into_bytes())],
            files => files.iter().map(|(path, text)| (path.to_string(), text.as_bytes().to_vec())).collect(),
        };
        if self.payload > 0 {
            entries.push((format!("{import}/payload.bin"), noise(self.payload)));
        }
        entries.push((format!("{dist_info}/METADATA"), metadata.clone().into_bytes()));
        entries.push((format!("{dist_info}/WHEEL"), wheel_file(self.tags).into_bytes()));
        let mut record = String::new();
        for (path, data) in &entries {
            let digest = match self.wrong_record == Some(path.as_str()) {
                true => Sha256::digest(b"not these bytes"),
                false => Sha256::digest(data),
            };
            record.push_str(&format!("{path},sha256={},{}\n", b64_urlsafe_nopad(&digest), data.len()));
        }
        record.push_str(&format!("{dist_info}/RECORD,,\n"));
        entries.push((format!("{dist_info}/RECORD"), record.into_bytes()));

        let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
        for (path, data) in &entries {
            let method =
                if path.ends_with("payload.bin") { CompressionMethod::Stored } else { CompressionMethod::Deflated };
            let options = SimpleFileOptions::default()
                .compression_method(method)
                .last_modified_time(DateTime::default())
                .unix_permissions(0o644);
            zip.start_file(path.as_str(), options).expect("zip entry");
            zip.write_all(data).expect("zip write");
        }
        let bytes = zip.finish().expect("zip finish").into_inner();
        Built { filename: format!("{import}-{}-{}.whl", self.version, self.tags), bytes, metadata }
    }
}

/// An sdist `<name>-<version>.tar.gz` whose `PKG-INFO` has the given Metadata-Version and
/// `Dynamic` fields; when `Requires-Dist` is dynamic, `PKG-INFO` lists no requirements (only
/// `setup.py` knows them), so a tool that ignores `Dynamic` gets the tree wrong.
pub fn sdist(name: &str, version: &str, metadata_version: &str, requires_dist: &[&str], dynamic: &[&str]) -> Built {
    let dynamic_deps = dynamic.iter().any(|d| d.eq_ignore_ascii_case("requires-dist"));
    let listed: &[&str] = if dynamic_deps { &[] } else { requires_dist };
    let metadata = metadata_text(metadata_version, name, version, listed, None, &[], dynamic);
    let import = escaped(name);
    let setup_py = format!(
        "from setuptools import setup\n\nsetup(name={name:?}, version={version:?}, packages=[{import:?}], install_requires={requires_dist:?})\n"
    );
    let pyproject = "[build-system]\nrequires = [\"setuptools>=61\"]\nbuild-backend = \"setuptools.build_meta\"\n";
    let files = [
        ("PKG-INFO".to_string(), metadata.into_bytes()),
        ("pyproject.toml".to_string(), pyproject.as_bytes().to_vec()),
        ("setup.py".to_string(), setup_py.into_bytes()),
        (format!("{import}/__init__.py"), format!("__version__ = \"{version}\"\n").into_bytes()),
    ];
    sdist_of(name, version, &files, SdistFormat::TarGz)
}

/// How an sdist is archived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SdistFormat {
    TarGz,
    Zip,
}

/// An sdist `<name>-<version>.tar.gz` or `.zip` holding `members` (paths below
/// `<name>-<version>/`) in this order; its `metadata` is the `PKG-INFO` member, if any.
pub fn sdist_of(name: &str, version: &str, members: &[(String, Vec<u8>)], format: SdistFormat) -> Built {
    let base = format!("{}-{version}", escaped(name));
    let metadata = members
        .iter()
        .find(|(path, _)| path == "PKG-INFO")
        .map(|(_, data)| String::from_utf8_lossy(data).into_owned())
        .unwrap_or_default();
    let (bytes, extension) = match format {
        SdistFormat::TarGz => {
            let mut tar = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::default()));
            for (path, data) in members {
                let mut header = tar::Header::new_gnu();
                header.set_size(data.len() as u64);
                header.set_mode(0o644);
                header.set_mtime(0);
                header.set_cksum();
                tar.append_data(&mut header, format!("{base}/{path}"), data.as_slice()).expect("tar entry");
            }
            (tar.into_inner().and_then(GzEncoder::finish).expect("tar.gz finish"), "tar.gz")
        }
        SdistFormat::Zip => {
            let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
            let options = SimpleFileOptions::default().last_modified_time(DateTime::default()).unix_permissions(0o644);
            for (path, data) in members {
                zip.start_file(format!("{base}/{path}"), options).expect("zip entry");
                zip.write_all(data).expect("zip write");
            }
            (zip.finish().expect("zip finish").into_inner(), "zip")
        }
    };
    Built { filename: format!("{base}.{extension}"), bytes, metadata }
}

/// The sources of [`backend_wheel`]'s build backend, `tinybackend`: it reads the project's name
/// and version from `tiny.cfg`, its dependencies from `deps.txt` and what
/// `get_requires_for_build_wheel` asks for from `build-deps.txt`, and imports the module
/// `import.txt` names while it builds; `fail.txt` makes it fail
/// (after some output), `hang.txt` makes it hang with a child process whose pid it writes to the
/// file `hang.txt` names. `tinybackend.wheel_only` has no
/// `prepare_metadata_for_build_wheel`, so the metadata comes from the wheel it builds.
const BACKEND: &str = r#"import base64, hashlib, os, subprocess, sys, time, zipfile

def _read(name):
    if os.path.exists(name):
        with open(name) as f:
            return f.read()
    return None

def _project():
    name, version = _read("tiny.cfg").split()[:2]
    return name, version

# Set by get_requires_for_build_wheel when state.txt says so: PEP 517 runs each hook in a fresh
# process, so prepare_metadata_for_build_wheel must not see it.
_STATE = None

def _metadata():
    if _STATE is not None or "TINYBACKEND_STATE" in os.environ:
        raise SystemExit("tinybackend: get_requires_for_build_wheel's state leaked")
    if _read("fail.txt") is not None:
        for n in range(30):
            print("tinybackend: step %d" % n)
        raise SystemExit("tinybackend: " + _read("fail.txt").strip())
    if _read("hang.txt") is not None:
        # A process of its own, as a compiler would be, whose pid goes where hang.txt says.
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
        with open(_read("hang.txt").strip(), "w") as f:
            f.write(str(child.pid))
        time.sleep(120)
    if _read("import.txt") is not None:
        # A build requirement the build itself imports (as setup.py imports pybind11).
        __import__(_read("import.txt").strip())
    name, version = _project()
    deps = [line.strip() for line in (_read("deps.txt") or "").splitlines() if line.strip()]
    return "Metadata-Version: 2.1\nName: %s\nVersion: %s\n" % (name, version) + "".join(
        "Requires-Dist: %s\n" % dep for dep in deps)

def get_requires_for_build_wheel(config_settings=None):
    global _STATE
    if _read("state.txt") is not None:
        _STATE = os.environ["TINYBACKEND_STATE"] = "changed"
    return [line.strip() for line in (_read("build-deps.txt") or "").splitlines() if line.strip()]

def prepare_metadata_for_build_wheel(directory, config_settings=None):
    name, version = _project()
    dist_info = "%s-%s.dist-info" % (name.replace("-", "_"), version)
    os.makedirs(os.path.join(directory, dist_info))
    with open(os.path.join(directory, dist_info, "METADATA"), "w") as f:
        f.write(_metadata())
    return dist_info

def build_wheel(directory, config_settings=None, metadata_directory=None):
    name, version = _project()
    base = name.replace("-", "_")
    dist_info = "%s-%s.dist-info" % (base, version)
    files = {
        base + "/__init__.py": "__version__ = %r\n" % version,
        dist_info + "/METADATA": _metadata(),
        dist_info + "/WHEEL": "Wheel-Version: 1.0\nGenerator: tinybackend\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = ""
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record += "%s,sha256=%s,%d\n" % (path, digest, len(text.encode()))
    files[dist_info + "/RECORD"] = record + dist_info + "/RECORD,,\n"
    wheel = "%s-%s-py3-none-any.whl" % (base, version)
    with zipfile.ZipFile(os.path.join(directory, wheel), "w") as z:
        for path, text in files.items():
            z.writestr(path, text)
    return wheel
"#;

/// `tinybackend 1.0`, a pure-Python PEP 517 backend (see [`BACKEND`]) as a wheel.
pub fn backend_wheel() -> Built {
    let wheel_only = "from tinybackend import build_wheel, get_requires_for_build_wheel\n";
    let files = [("tinybackend/__init__.py", BACKEND), ("tinybackend/wheel_only.py", wheel_only)];
    WheelSpec { name: "tinybackend", version: "1.0", tags: "py3-none-any", files: &files, ..WheelSpec::default() }
        .build()
}

/// An sdist that only `tinybackend` (`backend`: `tinybackend` or `tinybackend.wheel_only`) can
/// tell the dependencies of: its `PKG-INFO` is `pkg_info`, and `files` (`deps.txt`,
/// `fail.txt`, ...) are added to the tree.
pub fn backend_sdist(name: &str, version: &str, pkg_info: &str, pyproject: &str, files: &[(&str, &str)]) -> Built {
    let mut tree = vec![
        ("PKG-INFO".to_string(), pkg_info.as_bytes().to_vec()),
        ("pyproject.toml".to_string(), pyproject.as_bytes().to_vec()),
        ("tiny.cfg".to_string(), format!("{name} {version}\n").into_bytes()),
    ];
    tree.extend(files.iter().map(|(path, text)| (path.to_string(), text.as_bytes().to_vec())));
    sdist_of(name, version, &tree, SdistFormat::TarGz)
}

fn metadata_text(
    metadata_version: &str,
    name: &str,
    version: &str,
    requires_dist: &[&str],
    requires_python: Option<&str>,
    extras: &[(&str, &[&str])],
    dynamic: &[&str],
) -> String {
    let mut out =
        format!("Metadata-Version: {metadata_version}\nName: {name}\nVersion: {version}\nSummary: test package\n");
    for field in dynamic {
        out.push_str(&format!("Dynamic: {field}\n"));
    }
    if let Some(spec) = requires_python {
        out.push_str(&format!("Requires-Python: {spec}\n"));
    }
    for requirement in requires_dist {
        out.push_str(&format!("Requires-Dist: {requirement}\n"));
    }
    for (extra, requirements) in extras {
        out.push_str(&format!("Provides-Extra: {extra}\n"));
        for requirement in *requirements {
            let line = match requirement.split_once(';') {
                Some((req, marker)) => format!("{}; ({}) and extra == \"{extra}\"", req.trim(), marker.trim()),
                None => format!("{requirement}; extra == \"{extra}\""),
            };
            out.push_str(&format!("Requires-Dist: {line}\n"));
        }
    }
    out
}

/// The WHEEL file, with one `Tag` line per tag of the compressed tag set.
fn wheel_file(tags: &str) -> String {
    let mut out = "Wheel-Version: 1.0\nGenerator: hashlock-tests\nRoot-Is-Purelib: true\n".to_string();
    let parts: Vec<&str> = tags.split('-').collect();
    if let [pythons, abis, platforms] = parts.as_slice() {
        for python in pythons.split('.') {
            for abi in abis.split('.') {
                for platform in platforms.split('.') {
                    out.push_str(&format!("Tag: {python}-{abi}-{platform}\n"));
                }
            }
        }
    }
    out
}

/// Deterministic incompressible bytes (xorshift).
pub fn noise(len: usize) -> Vec<u8> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

/// RFC 4648 base64 with the URL-safe alphabet and no padding, as wheel RECORD files use.
fn b64_urlsafe_nopad(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

/// A RECORD digest: the sha256 of `bytes` in unpadded urlsafe base64.
pub fn b64_sha256(bytes: &[u8]) -> String {
    b64_urlsafe_nopad(&Sha256::digest(bytes))
}
