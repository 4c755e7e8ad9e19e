//! pip's own requirements-file parser as a reader of every file `generate` writes in the
//! suite: it must find no option but `--hash`, and exactly the requirements and hashes our
//! [`LockFile`](super::LockFile) parse finds. It runs in one virtualenv per test binary, kept
//! between runs under the target directory; without python3 (with venv and pip) it is skipped,
//! unless HASHLOCK_REQUIRE_PIP=1. Also [`Venv`], a fresh virtualenv for tests that install.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::str::FromStr;
use std::sync::OnceLock;

use pep508_rs::MarkerTree;

use super::{LockFile, without_pip_settings};

/// Each logical line as pip's line parser splits it (pip's preprocessing: `str.splitlines`,
/// continuations, comments, `${VAR}`), without following `-r` or fetching anything: the
/// options it sets other than `--hash`, and each requirement with its hashes.
const READ_BACK: &str = r#"
import json, sys
from pip._internal.req.req_file import build_parser, get_line_parser, preprocess
from pip._vendor.packaging.requirements import Requirement

def marker(node):
    # str(Marker) puts every value in "..." unescaped, so a value holding " would not read back.
    if isinstance(node, list):
        return "(" + " ".join(marker(n) for n in node) + ")"
    if isinstance(node, tuple):
        return " ".join(marker(n) for n in node)
    if isinstance(node, str):
        return node
    if type(node).__name__ == "Value":
        return ("'%s'" if "'" not in node.value else '"%s"') % node.value
    return str(node.value)

with open(sys.argv[1], encoding="utf-8") as f:
    content = f.read()
defaults = vars(build_parser().get_default_values())
defaults["index_url"] = None
parse = get_line_parser(None)
out = {"options": [], "requirements": []}
for number, line in preprocess(content):
    args, opts = parse(line)
    options = {k: repr(v) for k, v in vars(opts).items() if k != "hashes" and v != defaults.get(k)}
    if options:
        out["options"].append(f"line {number}: {options}")
    if args:
        try:
            r = Requirement(args)
        except Exception as e:
            out["options"].append(f"line {number}: not a requirement: {args!r}: {e}")
            continue
        hashes = sorted(f"{a}:{h}" for a, hs in (opts.hashes or {}).items() for h in hs)
        out["requirements"].append([r.name, str(r.specifier), marker(r.marker._markers) if r.marker else None, hashes])
json.dump(out, sys.stdout)
"#;

/// One requirement: name, specifier, marker (canonical, so that quoting does not matter), hashes.
type Read = (String, String, Option<MarkerTree>, Vec<String>);

fn marker(text: &str) -> MarkerTree {
    MarkerTree::from_str(text).unwrap_or_else(|e| panic!("marker {text:?}: {e}"))
}

/// Checks that pip reads `text` as `lock` says it says, and as nothing more.
pub fn assert_reads_back(text: &str, lock: &LockFile) {
    let Some(python) = reader() else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("requirements.txt");
    std::fs::write(&path, text).expect("write the file for pip");
    let out =
        without_pip_settings(Command::new(python).args(["-c", READ_BACK]).arg(&path)).output().expect("run python");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "pip cannot read the file: {stderr}\n{text}");
    let read: serde_json::Value = serde_json::from_slice(&out.stdout).expect("the reader prints JSON");
    let options: Vec<&str> = read["options"].as_array().unwrap().iter().filter_map(|o| o.as_str()).collect();
    assert!(options.is_empty(), "pip reads options or lines hashlock did not mean: {options:?}\n{text}");
    let got: BTreeSet<Read> =
        serde_json::from_value::<Vec<(String, String, Option<String>, Vec<String>)>>(read["requirements"].clone())
            .expect("requirements")
            .into_iter()
            .map(|(name, specifier, m, hashes)| (name, specifier, m.as_deref().map(marker), hashes))
            .collect();
    let meant: BTreeSet<Read> = lock
        .entries
        .iter()
        .map(|e| {
            let mut hashes = e.hashes.clone();
            hashes.sort();
            (e.name.clone(), format!("=={}", e.version), e.marker.as_deref().map(marker), hashes)
        })
        .collect();
    assert_eq!(got, meant, "pip reads other requirements than hashlock wrote:\n{text}");
    assert_eq!(
        read["requirements"].as_array().map(Vec::len),
        Some(lock.entries.len()),
        "pip reads a requirement twice:\n{text}"
    );
}

/// The python of the shared virtualenv, made once (it takes seconds) and kept under the target
/// directory for the next test binaries.
fn reader() -> Option<&'static Path> {
    static PYTHON: OnceLock<Option<PathBuf>> = OnceLock::new();
    PYTHON
        .get_or_init(|| match kept_venv("pip-reader", |_| Ok(())) {
            Ok(python) => Some(python),
            Err(problem) => {
                assert!(
                    std::env::var("HASHLOCK_REQUIRE_PIP").as_deref() != Ok("1"),
                    "HASHLOCK_REQUIRE_PIP=1 but {problem}"
                );
                eprintln!("skipping pip's read-back of generated files: {problem}");
                None
            }
        })
        .as_deref()
}

/// The python of a virtualenv `name` under the target directory, made once (then `setup` runs
/// with its bin directory) and kept for the next test binaries; or why it cannot be made.
pub fn kept_venv(name: &str, setup: impl FnOnce(&Path) -> Result<(), String>) -> Result<PathBuf, String> {
    let home = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let python = home.join("bin/python");
    if python.exists() {
        return Ok(python);
    }
    // Made aside and renamed, so that a run stopped halfway leaves no broken virtualenv.
    let aside = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir");
    let made = without_pip_settings(Command::new("python3").args(["-m", "venv"]).arg(aside.path().join("v"))).output();
    match made {
        Err(e) => return Err(format!("cannot run python3: {e}")),
        Ok(out) if !out.status.success() => {
            return Err(format!("python3 -m venv failed: {}", String::from_utf8_lossy(&out.stderr).trim()));
        }
        Ok(_) if !aside.path().join("v/bin/pip").exists() => return Err("the virtualenv has no pip".into()),
        Ok(_) => setup(&aside.path().join("v/bin"))?,
    }
    // Another binary may have made it meanwhile: either copy will do.
    let _ = std::fs::rename(aside.path().join("v"), &home);
    Ok(python)
}

/// A fresh virtualenv in a temporary directory; its pip and python run with no pip settings
/// from the machine running the tests.
pub struct Venv {
    _dir: tempfile::TempDir,
    bin: PathBuf,
}

impl Venv {
    /// `None` (with the reason printed) when python3 cannot make a virtualenv with pip, unless
    /// HASHLOCK_REQUIRE_PIP=1 makes that a failure.
    pub fn create() -> Option<Self> {
        Self::create_with("python3")
    }

    /// [`create`](Self::create) with another interpreter.
    pub fn create_with(python: &str) -> Option<Self> {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("venv");
        let made = without_pip_settings(Command::new(python).args(["-m", "venv"]).arg(&path)).output();
        let problem = match made {
            Err(e) => format!("cannot run {python}: {e}"),
            Ok(out) if !out.status.success() => {
                format!("python3 -m venv failed: {}", String::from_utf8_lossy(&out.stderr).trim())
            }
            Ok(_) if !path.join("bin/pip").exists() => "the virtualenv has no pip (ensurepip missing)".into(),
            Ok(_) => return Some(Self { bin: path.join("bin"), _dir: dir }),
        };
        skip(&format!("{problem} (install python3-venv)"))
    }

    /// A fresh virtualenv whose pip is the wheel `HASHLOCK_PIP_WHEEL` names, installed offline:
    /// scripts/test downloads a pip recent enough to check the hashes of `--build-constraint`
    /// files (26.3), which `python3 -m venv` does not bring.
    pub fn with_recent_pip() -> Option<Self> {
        let Some(wheel) = std::env::var_os("HASHLOCK_PIP_WHEEL") else {
            return skip("HASHLOCK_PIP_WHEEL names no pip wheel (scripts/test sets it)");
        };
        let venv = Self::create()?;
        let mut pip = Command::new(venv.bin.join("python"));
        pip.args(["-m", "pip", "install", "-q", "--no-index", "--disable-pip-version-check"]).arg(&wheel);
        let out = without_pip_settings(&mut pip).output().expect("run pip");
        assert!(out.status.success(), "installing {wheel:?}: {}", String::from_utf8_lossy(&out.stderr));
        Some(venv)
    }

    /// `pip install --require-hashes --no-cache-dir EXTRA... --index-url INDEX -r REQUIREMENTS`.
    pub fn install_require_hashes(&self, index_url: &str, requirements: &Path, extra: &[&str]) -> Output {
        let mut pip = Command::new(self.bin.join("pip"));
        pip.args(["install", "--require-hashes", "--no-cache-dir", "--disable-pip-version-check", "--no-input"])
            .args(extra)
            .args(["--index-url", index_url, "-r"])
            .arg(requirements);
        // Also for the pip a build's isolated environment starts, which inherits no flags.
        without_pip_settings(&mut pip).env("PIP_NO_CACHE_DIR", "1").output().expect("run pip")
    }

    /// The virtualenv's directory.
    pub fn root(&self) -> &Path {
        self.bin.parent().expect("bin/ is in the virtualenv")
    }

    /// `pip ARGS...` of the virtualenv, quietly and without its version check.
    pub fn pip(&self, args: &[&str]) -> Output {
        let mut pip = Command::new(self.bin.join("pip"));
        pip.args(["--disable-pip-version-check", "--no-input", "-q"]).args(args);
        without_pip_settings(&mut pip).output().expect("run pip")
    }

    pub fn python(&self, code: &str) -> Output {
        without_pip_settings(Command::new(self.bin.join("python")).args(["-c", code])).output().expect("run python")
    }
}

/// Skips a test that needs `problem` solved, unless HASHLOCK_REQUIRE_PIP=1 makes that a failure.
fn skip<T>(problem: &str) -> Option<T> {
    assert!(std::env::var("HASHLOCK_REQUIRE_PIP").as_deref() != Ok("1"), "HASHLOCK_REQUIRE_PIP=1 but {problem}");
    eprintln!("skipping: {problem} (set HASHLOCK_REQUIRE_PIP=1 to make this fail)");
    None
}
