//! pip's default index read from the installed pip's own files, without starting Python (half
//! a second): the `pip` on PATH is followed (through a pyenv shim, picking the version as pyenv
//! does) to the interpreter its launcher names, to that interpreter's pip package, to
//! `pip/_internal/models/index.py`. Whatever this route cannot be sure of, it gives up on, and
//! the caller asks pip itself. The `python3` on PATH is followed past a pyenv shim the same way,
//! for the target's version.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::Read;
use std::path::{Component, Path, PathBuf};
use std::time::UNIX_EPOCH;

use reqwest::Url;
use sha2::{Digest, Sha256};

use crate::dist::lower_hex;

/// The variables the route reads: pyenv's, and Python's that change where `import pip` looks.
const VARS: &[&str] = &[
    "HOME",
    "PYENV_ROOT",
    "PYENV_VERSION",
    "PYENV_DIR",
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONUSERBASE",
    "PYTHONNOUSERSITE",
];

/// What of the process the route reads, as a value, so that tests need not change the process.
#[derive(Clone, Debug, Default)]
pub struct Surroundings {
    path: OsString,
    cwd: Option<PathBuf>,
    vars: BTreeMap<String, OsString>,
}

impl Surroundings {
    pub fn of_process() -> Self {
        let vars = VARS.iter().filter_map(|name| Some((name.to_string(), std::env::var_os(name)?))).collect();
        Self { path: std::env::var_os("PATH").unwrap_or_default(), cwd: std::env::current_dir().ok(), vars }
    }

    #[cfg(test)]
    pub fn new(path: &Path, cwd: &Path) -> Self {
        Self { path: path.into(), cwd: Some(cwd.into()), vars: BTreeMap::new() }
    }

    #[cfg(test)]
    pub fn with(mut self, name: &str, value: impl Into<OsString>) -> Self {
        self.vars.insert(name.into(), value.into());
        self
    }

    /// A variable, unless unset or empty (as both pyenv and Python read them).
    fn var(&self, name: &str) -> Option<&OsString> {
        self.vars.get(name).filter(|value| !value.is_empty())
    }

    fn home(&self) -> Option<PathBuf> {
        self.var("HOME").map(PathBuf::from)
    }

    /// The first executable `name` on PATH, as `execvp` finds it.
    fn on_path(&self, name: &str) -> Option<PathBuf> {
        std::env::split_paths(&self.path)
            .map(|dir| match (dir.as_os_str().is_empty(), &self.cwd) {
                (true, Some(cwd)) => cwd.join(name),
                _ => dir.join(name),
            })
            .find(|candidate| is_executable(candidate))
    }
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

/// What the route read: each file with its mtime and size, and the values that chose between
/// files, so that an answer learned for this pip can be told from one for a changed pip.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Trail(Vec<String>);

impl Trail {
    fn file(&mut self, path: &Path) {
        let meta = std::fs::metadata(path).ok();
        let mtime = meta.as_ref().and_then(|m| m.modified().ok()).and_then(|t| t.duration_since(UNIX_EPOCH).ok());
        let size = meta.map(|m| m.len());
        self.0.push(format!("{}\t{:?}\t{:?}", path.display(), mtime.map(|t| t.as_nanos()), size));
    }

    fn value(&mut self, name: &str, value: &str) {
        self.0.push(format!("{name}={value}"));
    }

    /// The sha256 (hex) of everything read.
    pub fn fingerprint(&self) -> String {
        lower_hex(&Sha256::digest(self.0.join("\n").as_bytes()))
    }
}

/// Where the route went, and the default index with the `index.py` it came from if it got there.
#[derive(Debug)]
pub struct Discovery {
    pub trail: Trail,
    pub found: Option<(String, PathBuf)>,
}

pub fn discover(env: &Surroundings) -> Discovery {
    let mut trail = Trail::default();
    let found = follow(env, &mut trail);
    Discovery { trail, found }
}

fn follow(env: &Surroundings, trail: &mut Trail) -> Option<(String, PathBuf)> {
    let entry = env.on_path("pip")?;
    trail.file(&entry);
    // Either puts other directories before the interpreter's own on `sys.path`.
    for name in ["PYTHONPATH", "PYTHONHOME"] {
        if let Some(value) = env.var(name) {
            trail.value(name, &value.to_string_lossy());
            return None;
        }
    }
    let head = read_head(&entry)?;
    let head = match pyenv_shim(&head) {
        Some(shim_root) => read_head(&pyenv_program(env, shim_root, "pip", trail)?)?,
        None => head,
    };
    let interpreter = shebang_interpreter(&head)?;
    let pip = pip_package(env, &interpreter)?;
    let index_py = pip.join("_internal").join("models").join("index.py");
    trail.file(&index_py);
    let url = default_index(&std::fs::read_to_string(&index_py).ok()?)?;
    Some((url, index_py))
}

/// The interpreter the `python3` on PATH runs, past a pyenv shim (whose scripts take a tenth of
/// a second to pick it); `None` where pyenv's own logic would be needed.
pub fn python3_on_path(env: &Surroundings) -> Option<PathBuf> {
    let entry = env.on_path("python3")?;
    match pyenv_shim(&read_head(&entry)?) {
        Some(shim_root) => pyenv_program(env, shim_root, "python3", &mut Trail::default()),
        None => Some(entry),
    }
}

/// The `program` of the version a pyenv shim (exporting `shim_root`, if it does) would run.
fn pyenv_program(env: &Surroundings, shim_root: Option<PathBuf>, program: &str, trail: &mut Trail) -> Option<PathBuf> {
    let root =
        shim_root.or_else(|| env.var("PYENV_ROOT").map(PathBuf::from)).or_else(|| Some(env.home()?.join(".pyenv")))?;
    let version = pyenv_version(env, &root, trail)?;
    let target = root.join("versions").join(version).join("bin").join(program);
    trail.file(&target);
    Some(target)
}

/// The start of a file: enough for a shebang and the line after it, or a pyenv shim.
pub(crate) fn read_head(path: &Path) -> Option<String> {
    let mut bytes = Vec::new();
    std::fs::File::open(path).ok()?.take(4096).read_to_end(&mut bytes).ok()?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// `Some` for a pyenv shim (a script that ends in `exec ".../libexec/pyenv" exec "$program"`),
/// with the `PYENV_ROOT` it exports, which wins over the caller's.
pub(crate) fn pyenv_shim(head: &str) -> Option<Option<PathBuf>> {
    let lines = || head.lines().map(str::trim);
    lines().find(|line| line.starts_with("exec \"") && line.ends_with("\" exec \"$program\" \"$@\""))?;
    let root = lines()
        .find_map(|line| line.strip_prefix("export PYENV_ROOT=\"")?.strip_suffix('"'))
        .filter(|root| !root.contains('$'))
        .map(PathBuf::from);
    Some(root)
}

/// The version a shim runs, as `pyenv version-name` picks it: `PYENV_VERSION`, else the
/// nearest `.python-version` from the current directory up, else `$PYENV_ROOT/version`.
/// `None` for `system`, several versions, or anything else that would need pyenv's own logic.
fn pyenv_version(env: &Surroundings, root: &Path, trail: &mut Trail) -> Option<String> {
    let text = match env.var("PYENV_VERSION") {
        Some(value) => value.to_str()?.to_string(),
        // pyenv would look for `.python-version` from there, and from the current directory.
        None if env.var("PYENV_DIR").is_some() => return None,
        None => {
            let local = env.cwd.iter().flat_map(|dir| dir.ancestors()).map(|dir| dir.join(".python-version"));
            let file = local.clone().find(|file| file.is_file()).unwrap_or_else(|| root.join("version"));
            trail.file(&file);
            std::fs::read_to_string(&file).ok()?
        }
    };
    let words: Vec<&str> =
        text.lines().filter(|line| !line.trim_start().starts_with('#')).flat_map(str::split_whitespace).collect();
    let [version] = words[..] else { return None };
    trail.value("pyenv-version", version);
    let plain = Path::new(version).components().all(|c| matches!(c, Component::Normal(_)));
    (plain && version != "system" && !version.contains(':')).then(|| version.to_string())
}

/// The absolute interpreter a console-script launcher runs: `#!/path/python` (no arguments:
/// `-E`, `-s` or `env` would change what is imported), or the `#!/bin/sh` form written for
/// paths a shebang cannot hold (`'''exec' "/path/python" "$0" "$@"`).
fn shebang_interpreter(head: &str) -> Option<PathBuf> {
    let mut lines = head.lines();
    let first = lines.next()?.strip_prefix("#!")?.trim();
    let interpreter = if first == "/bin/sh" {
        let rest = lines.next()?.strip_prefix("'''exec' ")?;
        let (path, tail) = match rest.strip_prefix('"') {
            Some(quoted) => quoted.split_once('"')?,
            None => rest.split_once(' ')?,
        };
        (tail.trim() == "\"$0\" \"$@\"").then_some(path)?
    } else {
        (!first.contains(char::is_whitespace)).then_some(first)?
    };
    Some(PathBuf::from(interpreter)).filter(|path| path.is_absolute())
}

/// The `pip` package `interpreter` imports: under its prefix (`bin/..`),
/// `lib/python3.X/site-packages` (X from the interpreter's name, `pyvenv.cfg`, or the only one
/// there), `lib/python3/dist-packages` (Debian) or `Lib/site-packages` (Windows). `None` when a
/// directory Python searches first (the user's site-packages, Debian's `/usr/local`) holds one.
fn pip_package(env: &Surroundings, interpreter: &Path) -> Option<PathBuf> {
    let prefix = interpreter.parent()?.parent()?;
    let venv_cfg = std::fs::read_to_string(prefix.join("pyvenv.cfg")).ok();
    let minor = interpreter
        .file_name()?
        .to_str()?
        .strip_prefix("python3.")
        .map(str::to_string)
        .or_else(|| venv_cfg.as_deref().and_then(venv_minor))
        .filter(|minor| !minor.is_empty() && minor.bytes().all(|b| b.is_ascii_digit()));
    let site = pips_under(&prefix.join("lib"), "site-packages", minor.as_deref());
    let (pip, debian) = match site.as_slice() {
        [only] => (only.clone(), false),
        [] => [(prefix.join("lib/python3/dist-packages/pip"), true), (prefix.join("Lib/site-packages/pip"), false)]
            .into_iter()
            .find(|(pip, _)| pip.is_dir())?,
        _ => return None,
    };
    // A venv without the system's packages has no user site-packages.
    let isolated =
        venv_cfg.as_deref().is_some_and(|cfg| cfg_value(cfg, "include-system-site-packages") != Some("true"));
    if !isolated {
        if cfg!(windows) {
            return None;
        }
        let user_base = env.var("PYTHONUSERBASE").map(PathBuf::from).or_else(|| Some(env.home()?.join(".local")));
        let user_site = env.var("PYTHONNOUSERSITE").is_none()
            && user_base
                .is_some_and(|base| !pips_under(&base.join("lib"), "site-packages", minor.as_deref()).is_empty());
        let local = debian && !pips_under(&prefix.join("local/lib"), "dist-packages", minor.as_deref()).is_empty();
        if user_site || local {
            return None;
        }
    }
    Some(pip)
}

/// `lib/python3.X/<packages>/pip` directories: X's only, or every X's when X is not known.
fn pips_under(lib: &Path, packages: &str, minor: Option<&str>) -> Vec<PathBuf> {
    let dirs: Vec<PathBuf> = match minor {
        Some(minor) => vec![lib.join(format!("python3.{minor}"))],
        None => std::fs::read_dir(lib)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|entry| entry.file_name().to_str().is_some_and(|name| name.starts_with("python3.")))
            .map(|entry| entry.path())
            .collect(),
    };
    dirs.into_iter().map(|dir| dir.join(packages).join("pip")).filter(|pip| pip.is_dir()).collect()
}

/// X of `version = 3.X.Y` (venv) or `version_info = 3.X.Y...` (uv).
fn venv_minor(cfg: &str) -> Option<String> {
    let version = cfg_value(cfg, "version").or_else(|| cfg_value(cfg, "version_info"))?;
    Some(version.strip_prefix("3.")?.split('.').next()?.to_string())
}

fn cfg_value<'a>(cfg: &'a str, key: &str) -> Option<&'a str> {
    cfg.lines().find_map(|line| {
        let (name, value) = line.split_once('=')?;
        (name.trim() == key).then(|| value.trim())
    })
}

/// pip's default index from `index.py`, when it has the shape pip has long given it:
/// `PyPI = PackageIndex("<url>", file_storage_domain=...)`, and `simple_url` made by
/// `urljoin(self.url, "simple")`. The default is then that join.
pub fn default_index(text: &str) -> Option<String> {
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let simple = lines.iter().any(|line| {
        matches!(
            *line,
            r#"self.simple_url = self._url_for_path("simple")"# | "self.simple_url = self._url_for_path('simple')"
        )
    });
    let def = lines.iter().position(|line| line.starts_with("def _url_for_path(self, path"))?;
    let joins = lines[def + 1..].iter().find(|line| !line.is_empty()).is_some_and(|line| {
        matches!(*line, "return urllib.parse.urljoin(self.url, path)" | "return urllib_parse.urljoin(self.url, path)")
    });
    let url = Url::parse(pypi_url(text)?).ok().filter(|url| matches!(url.scheme(), "http" | "https"))?;
    (simple && joins).then(|| url.join("simple").ok().map(String::from))?
}

/// The URL literal of the one `PyPI = PackageIndex("<url>", file_storage_domain=...)`.
fn pypi_url(text: &str) -> Option<&str> {
    let mut definitions = text
        .match_indices("PyPI")
        .filter(|(at, _)| *at == 0 || text[..*at].ends_with('\n'))
        .filter_map(|(at, _)| text[at + 4..].trim_start_matches([' ', '\t']).strip_prefix('='));
    let rest = definitions.next()?;
    if definitions.next().is_some() {
        return None;
    }
    let rest = rest.trim_start().strip_prefix("PackageIndex(")?.trim_start();
    let quote = rest.chars().next().filter(|c| matches!(c, '"' | '\''))?;
    let (url, rest) = rest[1..].split_once(quote)?;
    let rest = rest.trim_start().strip_prefix(',')?.trim_start().strip_prefix("file_storage_domain")?;
    rest.trim_start().strip_prefix('=')?;
    (!url.contains(['\\', '\n'])).then_some(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// pip's `index.py` as pip ships it, with a stand-in URL.
    const INDEX_PY: &str = r#"import urllib.parse


class PackageIndex:
    def __init__(self, url: str, file_storage_domain: str) -> None:
        super().__init__()
        self.url = url
        self.simple_url = self._url_for_path("simple")
        self.file_storage_domain = file_storage_domain

    def _url_for_path(self, path: str) -> str:
        return urllib.parse.urljoin(self.url, path)


PyPI = PackageIndex("https://index.example/", file_storage_domain="files.example")
TestPyPI = PackageIndex("https://test.index.example/", file_storage_domain="test-files.example")
"#;

    const FOUND: &str = "https://index.example/simple";

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn executable(path: &Path, text: &str) {
        write(path, text);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
    }

    /// `site/pip/_internal/models/index.py`.
    fn pip_in(site: &Path, index_py: &str) -> PathBuf {
        let path = site.join("pip/_internal/models/index.py");
        write(&path, index_py);
        path
    }

    fn launcher(python: &Path) -> String {
        format!(
            "#!{}\n# -*- coding: utf-8 -*-\nimport re\nimport sys\nfrom pip._internal.cli.main import main\n",
            python.display()
        )
    }

    /// A venv at `root` whose `bin/pip` runs `bin/<python>`; `version` goes to `pyvenv.cfg`.
    fn venv(root: &Path, python: &str, version: &str) -> PathBuf {
        write(
            &root.join("pyvenv.cfg"),
            &format!("home = /usr/bin\ninclude-system-site-packages = false\nversion = {version}\n"),
        );
        executable(&root.join("bin/pip"), &launcher(&root.join("bin").join(python)));
        let minor = version.split('.').nth(1).unwrap();
        pip_in(&root.join(format!("lib/python3.{minor}/site-packages")), INDEX_PY)
    }

    fn found(env: &Surroundings) -> Option<(String, PathBuf)> {
        discover(env).found
    }

    #[test]
    fn venv_launcher_leads_to_its_pythons_pip() {
        // The interpreter's name picks the Python, else pyvenv.cfg's version; the other one's pip
        // (of another shape) is a decoy.
        for (python, version, decoy) in [("python3.12", "3.12.1", "3.11"), ("python", "3.11.7", "3.12")] {
            let dir = tempfile::tempdir().unwrap();
            let root = dir.path().join("venv");
            let index_py = venv(&root, python, version);
            pip_in(
                &root.join(format!("lib/python{decoy}/site-packages")),
                "PyPI = PackageIndex(\"https://wrong.example/\"",
            );
            let env = Surroundings::new(&root.join("bin"), dir.path()).with("HOME", dir.path().join("home"));
            assert_eq!(found(&env), Some((FOUND.into(), index_py)), "{python}");
        }
    }

    #[test]
    fn sh_exec_launcher_for_long_or_spaced_paths() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("a venv");
        let index_py = venv(&root, "python3.12", "3.12.1");
        let python = root.join("bin/python3.12");
        let quoted = format!("#!/bin/sh\n'''exec' \"{}\" \"$0\" \"$@\"\n' '''\nimport re\n", python.display());
        executable(&root.join("bin/pip"), &quoted);
        let env = Surroundings::new(&root.join("bin"), dir.path());
        assert_eq!(found(&env), Some((FOUND.into(), index_py.clone())));
        // distlib leaves a long path without spaces unquoted.
        let long = dir.path().join("long");
        std::fs::rename(&root, &long).unwrap();
        let bare = format!("#!/bin/sh\n'''exec' {} \"$0\" \"$@\"\n' '''\n", long.join("bin/python3.12").display());
        executable(&long.join("bin/pip"), &bare);
        let env = Surroundings::new(&long.join("bin"), dir.path());
        assert_eq!(found(&env).map(|f| f.0).as_deref(), Some(FOUND));
    }

    /// A pyenv root with a shim for `pip` and versions 3.11.7 (with pip) and 3.12.1 (without).
    fn pyenv(root: &Path, export_root: bool) -> PathBuf {
        let export = if export_root { format!("export PYENV_ROOT=\"{}\"\n", root.display()) } else { String::new() };
        let shim = format!(
            "#!/usr/bin/env bash\nset -e\nprogram=\"${{0##*/}}\"\n\n{export}exec \"{}/libexec/pyenv\" exec \"$program\" \"$@\"\n",
            root.display()
        );
        executable(&root.join("shims/pip"), &shim);
        let version = root.join("versions/3.11.7");
        executable(&version.join("bin/pip"), &launcher(&version.join("bin/python3.11")));
        executable(&root.join("versions/3.12.1/bin/python3.12"), "");
        pip_in(&version.join("lib/python3.11/site-packages"), INDEX_PY)
    }

    #[test]
    fn pyenv_shim_runs_the_version_pyenv_picks() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("pyenv");
        let index_py = pyenv(&root, true);
        let project = dir.path().join("project/src");
        std::fs::create_dir_all(&project).unwrap();
        let shims = root.join("shims");
        // The variable wins; the root exported by the shim wins over the caller's.
        let env = Surroundings::new(&shims, &project).with("PYENV_VERSION", "3.11.7").with("PYENV_ROOT", "/nowhere");
        assert_eq!(found(&env), Some((FOUND.into(), index_py.clone())));
        // No variable, no local file, no global file: `system`, which this route does not follow.
        let env = Surroundings::new(&shims, &project);
        assert_eq!(found(&env), None);
        write(&root.join("version"), "3.11.7\n");
        assert_eq!(found(&env), Some((FOUND.into(), index_py.clone())));
        // A `.python-version` above the current directory wins over the global one.
        write(&dir.path().join("project/.python-version"), "# pinned\n3.12.1\n");
        assert_eq!(found(&env), None, "3.12.1 has no pip");
        for unclear in ["system\n", "3.11.7\n3.12.1\n", "../3.11.7\n", ""] {
            write(&dir.path().join("project/.python-version"), unclear);
            assert_eq!(found(&env), None, "{unclear:?}");
        }
        let env = Surroundings::new(&shims, &project).with("PYENV_VERSION", "3.11.7:3.12.1");
        assert_eq!(found(&env), None);
        std::fs::remove_file(dir.path().join("project/.python-version")).unwrap();
        let env = Surroundings::new(&shims, &project);
        assert!(found(&env).is_some());
        assert_eq!(found(&env.with("PYENV_DIR", dir.path())), None);
    }

    #[test]
    fn pyenv_shim_without_its_root_takes_pyenv_root_then_home() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        let index_py = pyenv(&home.join(".pyenv"), false);
        let shims = home.join(".pyenv/shims");
        let env = Surroundings::new(&shims, dir.path()).with("PYENV_VERSION", "3.11.7").with("HOME", &home);
        assert_eq!(found(&env), Some((FOUND.into(), index_py)));
        let env = env.with("PYENV_ROOT", dir.path().join("other"));
        assert_eq!(found(&env), None);
    }

    #[test]
    fn python3_is_followed_past_a_pyenv_shim_to_the_version_pyenv_picks() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("pyenv");
        pyenv(&root, true);
        std::fs::copy(root.join("shims/pip"), root.join("shims/python3")).unwrap();
        executable(&root.join("versions/3.11.7/bin/python3"), "");
        let shims = root.join("shims");
        let env = Surroundings::new(&shims, dir.path()).with("PYENV_VERSION", "3.11.7");
        assert_eq!(python3_on_path(&env), Some(root.join("versions/3.11.7/bin/python3")));
        // `system` is pyenv's to find: the shim itself is run then.
        assert_eq!(python3_on_path(&env.clone().with("PYENV_VERSION", "system")), None);
        let plain = dir.path().join("bin");
        executable(&plain.join("python3"), "#!/bin/sh\n");
        assert_eq!(python3_on_path(&Surroundings::new(&plain, dir.path())), Some(plain.join("python3")));
    }

    #[test]
    fn debian_dist_packages_unless_something_comes_first() {
        let dir = tempfile::tempdir().unwrap();
        let usr = dir.path().join("usr");
        executable(&usr.join("bin/pip"), &launcher(&usr.join("bin/python3")));
        let index_py = pip_in(&usr.join("lib/python3/dist-packages"), INDEX_PY);
        let home = dir.path().join("home");
        let env = Surroundings::new(&usr.join("bin"), dir.path()).with("HOME", &home);
        assert_eq!(found(&env), Some((FOUND.into(), index_py.clone())));
        // `pip install --user pip`: the user's site-packages are searched first.
        pip_in(&home.join(".local/lib/python3.11/site-packages"), INDEX_PY);
        assert_eq!(found(&env), None);
        assert_eq!(found(&env.clone().with("PYTHONNOUSERSITE", "1")), Some((FOUND.into(), index_py)));
        // `sudo pip install -U pip`: /usr/local comes first too.
        pip_in(&usr.join("local/lib/python3.11/dist-packages"), INDEX_PY);
        assert_eq!(found(&env.with("PYTHONNOUSERSITE", "1")), None);
    }

    #[test]
    fn gives_up_on_what_it_cannot_follow() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("venv");
        venv(&root, "python3.12", "3.12.1");
        let bin = root.join("bin");
        let env = Surroundings::new(&bin, dir.path());
        assert!(found(&env).is_some());
        assert_eq!(found(&env.clone().with("PYTHONPATH", "/elsewhere")), None);
        for head in ["#!/usr/bin/env python3\n", "#!/usr/bin/python3 -E\n", "#!python3\n", "\x7fELF\x02\x01"] {
            executable(&bin.join("pip"), head);
            assert_eq!(found(&env), None, "{head:?}");
        }
        // No executable pip on PATH at all.
        std::fs::remove_file(bin.join("pip")).unwrap();
        assert_eq!(found(&env), None);
    }

    #[test]
    fn index_py_of_another_shape_is_not_read() {
        assert_eq!(default_index(INDEX_PY).as_deref(), Some(FOUND));
        // pip 20's layout: single quotes, the call wrapped.
        let wrapped = INDEX_PY.replace(
            r#"PyPI = PackageIndex("https://index.example/", file_storage_domain="files.example")"#,
            "PyPI = PackageIndex(\n    'https://index.example/', file_storage_domain='files.example'\n)",
        );
        assert_eq!(default_index(&wrapped).as_deref(), Some(FOUND));
        let changed = [
            INDEX_PY.replace(r#"self._url_for_path("simple")"#, r#"self._url_for_path("simple/")"#),
            INDEX_PY.replace("urllib.parse.urljoin(self.url, path)", "self.url + path"),
            INDEX_PY.replace("file_storage_domain=\"files.example\"", "\"files.example\""),
            INDEX_PY.replace("PyPI = PackageIndex(\"https://index.example/\"", "PyPI = PackageIndex(BASE"),
            INDEX_PY.replace("https://index.example/", "ftp://index.example/"),
            format!("{INDEX_PY}PyPI = PackageIndex(\"https://other.example/\", file_storage_domain=\"x\")\n"),
        ];
        for text in changed {
            assert_eq!(default_index(&text), None, "{text}");
        }
    }

    #[test]
    fn changed_shape_on_disk_gives_up() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("venv");
        let index_py = venv(&root, "python3.12", "3.12.1");
        write(&index_py, &INDEX_PY.replace("urllib.parse.urljoin(self.url, path)", "self.url + path"));
        assert_eq!(found(&Surroundings::new(&root.join("bin"), dir.path())), None);
    }

    #[test]
    fn trail_changes_with_the_pip_it_read() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("venv");
        let index_py = venv(&root, "python3.12", "3.12.1");
        let env = Surroundings::new(&root.join("bin"), dir.path());
        let before = discover(&env).trail;
        assert_eq!(discover(&env).trail, before);
        write(&index_py, &format!("{INDEX_PY}\n"));
        assert_ne!(discover(&env).trail.fingerprint(), before.fingerprint());
    }
}
