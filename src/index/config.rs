//! Which index to use, as pip decides it: `--index-url`, `PIP_INDEX_URL`, `index-url` in pip's
//! configuration files, then pip's own built-in default (read from the files of the `pip` on
//! PATH, else asked of it and remembered).
//! The same order holds for `--extra-index-url` and `--cert`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use reqwest::Url;

use crate::index::cache::{Cache, Freshness};
use crate::index::http::redact_text;
use crate::index::pip_files::{self, Discovery, Surroundings};

/// How output names pip's built-in default index.
pub const PIP_DEFAULT_NAME: &str = "pip's default index";

/// Where the user's cache dir keeps pip's default index once pip was asked for it.
pub const PIP_DEFAULT_KEY: &str = "pip-default-index";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid index URL `{url}` (from {origin}): {message}")]
    BadUrl { url: String, origin: String, message: String },
    #[error(
        "no package index configured: pass --index-url URL (none in PIP_INDEX_URL or pip's configuration files, and {reason})"
    )]
    NoIndex { reason: String },
}

/// The indexes (primary first) and trust roots a run uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexChoice {
    pub index_url: Url,
    /// The primary index is pip's built-in default (nothing configured it). Files and reports
    /// then say "pip's default index" instead of its URL, as pip-tools leaves it out.
    pub index_is_pip_default: bool,
    pub extra_index_urls: Vec<Url>,
    pub cert: Option<PathBuf>,
    /// Where pip's default came from and how long learning it took, for `--verbose`.
    pub pip_default_origin: Option<String>,
}

impl IndexChoice {
    /// All indexes, primary first.
    pub fn all(&self) -> Vec<Url> {
        std::iter::once(self.index_url.clone()).chain(self.extra_index_urls.iter().cloned()).collect()
    }

    /// The indexes as files and reports name them: redacted URLs, primary first.
    pub fn describe(&self) -> Vec<String> {
        let primary = if self.index_is_pip_default {
            PIP_DEFAULT_NAME.to_string()
        } else {
            crate::index::http::redact(&self.index_url)
        };
        std::iter::once(primary).chain(self.extra_index_urls.iter().map(crate::index::http::redact)).collect()
    }
}

/// What the command line said; `None`/empty means "ask pip's sources".
#[derive(Clone, Debug, Default)]
pub struct IndexFlags {
    pub index_url: Option<String>,
    pub extra_index_urls: Vec<String>,
    /// `--extra-index-url` lines of requirements files: added to the extra indexes from the
    /// command line, the environment or pip's configuration, as pip adds them.
    pub file_extra_index_urls: Vec<String>,
    pub cert: Option<PathBuf>,
}

/// Values from pip's configuration files, `[install]` overriding `[global]`, later files
/// overriding earlier ones, in pip's own order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PipConfig {
    values: BTreeMap<String, (String, PathBuf)>,
}

impl PipConfig {
    /// Loads the files pip would read (global, user, site, then `PIP_CONFIG_FILE`).
    pub fn load() -> Self {
        let env_file = std::env::var_os("PIP_CONFIG_FILE").map(PathBuf::from);
        if env_file.as_deref().is_some_and(is_devnull) {
            return Self::default();
        }
        let mut config = Self::default();
        for path in config_file_candidates(env_file.as_deref()) {
            if let Ok(text) = std::fs::read_to_string(&path) {
                config.merge_ini(&text, &path);
            }
        }
        config
    }

    /// A value (`index-url`, `extra-index-url`, `cert`) and the file it came from.
    pub fn get(&self, key: &str) -> Option<(&str, &Path)> {
        self.values.get(key).map(|(value, path)| (value.as_str(), path.as_path()))
    }

    /// Merges one INI file: keys of `[global]`, then of `[install]` (pip's command section).
    pub fn merge_ini(&mut self, text: &str, path: &Path) {
        let mut sections: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        let mut section = String::new();
        let mut last_key: Option<String> = None;
        for line in text.lines() {
            let trimmed = line.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
                continue;
            }
            // An indented line continues the previous value (pip's multi-line lists).
            if line.starts_with(char::is_whitespace) {
                if let Some(key) = &last_key
                    && let Some(value) = sections.entry(section.clone()).or_default().get_mut(key)
                {
                    value.push('\n');
                    value.push_str(trimmed);
                }
                continue;
            }
            if let Some(name) = trimmed.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
                section = name.trim().to_lowercase();
                last_key = None;
                continue;
            }
            if let Some((key, value)) = trimmed.split_once(['=', ':']) {
                let key = key.trim().to_lowercase().replace('_', "-");
                sections.entry(section.clone()).or_default().insert(key.clone(), value.trim().to_string());
                last_key = Some(key);
            }
        }
        for name in ["global", "install"] {
            for (key, value) in sections.remove(name).unwrap_or_default() {
                self.values.insert(key, (value, path.to_path_buf()));
            }
        }
    }
}

fn is_devnull(path: &Path) -> bool {
    path == Path::new("/dev/null") || path.as_os_str().eq_ignore_ascii_case("nul")
}

/// pip's configuration files, lowest precedence first.
fn config_file_candidates(env_file: Option<&Path>) -> Vec<PathBuf> {
    let env = |name: &str| std::env::var_os(name).map(PathBuf::from);
    let mut files = Vec::new();
    if cfg!(windows) {
        if let Some(program_data) = env("PROGRAMDATA") {
            files.push(program_data.join("pip").join("pip.ini"));
        }
        if let Some(appdata) = env("APPDATA") {
            files.push(appdata.join("pip").join("pip.ini"));
        }
    } else {
        let xdg_dirs = std::env::var("XDG_CONFIG_DIRS").unwrap_or_else(|_| "/etc/xdg".into());
        files.extend(xdg_dirs.split(':').filter(|d| !d.is_empty()).map(|d| Path::new(d).join("pip/pip.conf")));
        files.push(PathBuf::from("/etc/pip.conf"));
        // The user's files are skipped when PIP_CONFIG_FILE names an existing file, as in pip.
        if !env_file.is_some_and(Path::exists) {
            if let Some(home) = env("HOME") {
                files.push(home.join(".pip/pip.conf"));
                if cfg!(target_os = "macos") {
                    files.push(home.join("Library/Application Support/pip/pip.conf"));
                }
            }
            if let Some(config_home) = env("XDG_CONFIG_HOME").or_else(|| env("HOME").map(|h| h.join(".config"))) {
                files.push(config_home.join("pip/pip.conf"));
            }
        }
    }
    if let Some(venv) = env("VIRTUAL_ENV") {
        files.push(venv.join(if cfg!(windows) { "pip.ini" } else { "pip.conf" }));
    }
    files.extend(env_file.map(Path::to_path_buf));
    files
}

fn parse_url(url: &str, origin: &str) -> Result<Url, ConfigError> {
    let bad = |url: String, message: String| ConfigError::BadUrl { url, origin: origin.to_string(), message };
    let parsed = Url::parse(url.trim()).map_err(|e| {
        // It may hold credentials where no `://` marks them: show none of it.
        bad(if url.contains('@') { "***".into() } else { redact_text(url) }, e.to_string())
    })?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(bad(redact_text(url), "only http and https indexes are supported".into()));
    }
    Ok(parsed)
}

/// Decides the indexes and trust roots: flags, then `PIP_*` variables, then pip's
/// configuration, then (primary index only) pip's built-in default. `remember`: an answer
/// pip gave may be kept in, and read from, the user's cache dir (not with `--no-cache`).
pub fn choose(flags: &IndexFlags, remember: bool) -> Result<IndexChoice, ConfigError> {
    let config = PipConfig::load();
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());

    let mut pip_default_origin = None;
    let (index_url, index_is_pip_default) = if let Some(url) = &flags.index_url {
        (parse_url(url, "--index-url")?, false)
    } else if let Some(url) = env("PIP_INDEX_URL") {
        (parse_url(&url, "PIP_INDEX_URL")?, false)
    } else if let Some((url, path)) = config.get("index-url") {
        (parse_url(url, &path.display().to_string())?, false)
    } else {
        let started = Instant::now();
        let memory = remember.then(Cache::default_dir).flatten().map(|root| Cache::new(root, Freshness::Normal));
        let discovery = pip_files::discover(&Surroundings::of_process());
        let (url, origin) =
            pip_default_index(discovery, memory.as_ref(), ask_pip).map_err(|reason| ConfigError::NoIndex { reason })?;
        pip_default_origin = Some(format!("{origin} ({:.1} ms)", started.elapsed().as_secs_f64() * 1000.0));
        (parse_url(&url, "pip's built-in default")?, true)
    };

    let mut extra_index_urls: Vec<Url> = if !flags.extra_index_urls.is_empty() {
        flags.extra_index_urls.iter().map(|u| parse_url(u, "--extra-index-url")).collect::<Result<_, _>>()?
    } else if let Some(urls) = env("PIP_EXTRA_INDEX_URL") {
        urls.split_whitespace().map(|u| parse_url(u, "PIP_EXTRA_INDEX_URL")).collect::<Result<_, _>>()?
    } else if let Some((urls, path)) = config.get("extra-index-url") {
        let origin = path.display().to_string();
        urls.split_whitespace().map(|u| parse_url(u, &origin)).collect::<Result<_, _>>()?
    } else {
        Vec::new()
    };
    for url in &flags.file_extra_index_urls {
        extra_index_urls.push(parse_url(url, "--extra-index-url in a requirements file")?);
    }
    // An index named twice (a lock's recorded index also given as -i) is asked once: asked
    // twice, every file would be counted twice.
    let same = |a: &Url, b: &Url| a.as_str().trim_end_matches('/') == b.as_str().trim_end_matches('/');
    let mut seen = vec![index_url.clone()];
    extra_index_urls.retain(|url| {
        let new = !seen.iter().any(|known| same(known, url));
        seen.push(url.clone());
        new
    });

    let cert = flags
        .cert
        .clone()
        .or_else(|| env("PIP_CERT").map(PathBuf::from))
        .or_else(|| config.get("cert").map(|(value, _)| PathBuf::from(value)));

    Ok(IndexChoice { index_url, index_is_pip_default, extra_index_urls, cert, pip_default_origin })
}

/// `command` (pip, or a Python that runs it) sees none of the caller's `PIP_*` settings.
pub fn without_pip_settings(command: &mut Command) -> &mut Command {
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("PIP_") {
            command.env_remove(name);
        }
    }
    command
}

/// pip's built-in index and where it came from: pip's `index.py` when `discovery` got there,
/// else what `ask` (pip) answered for the same pip before, kept in `memory` under the
/// fingerprint of what discovery read (a changed launcher, pyenv version or pip is another
/// key), else what `ask` answers now.
fn pip_default_index(
    discovery: Discovery,
    memory: Option<&Cache>,
    ask: impl FnOnce() -> Result<String, String>,
) -> Result<(String, String), String> {
    if let Some((url, index_py)) = discovery.found {
        return Ok((url, format!("from {}", index_py.display())));
    }
    let fingerprint = discovery.trail.fingerprint();
    let remembered = memory.and_then(|m| m.read_text(PIP_DEFAULT_KEY)).and_then(|text| {
        let (key, url) = text.split_once('\n')?;
        (key == fingerprint && !url.is_empty()).then(|| url.to_string())
    });
    if let Some(url) = remembered {
        return Ok((url, "remembered from `pip install --help`".into()));
    }
    let url = ask()?;
    if let Some(memory) = memory {
        memory.write_text(PIP_DEFAULT_KEY, &format!("{fingerprint}\n{url}"));
    }
    Ok((url, "from `pip install --help`".into()))
}

/// `pip install --help` shows pip's default; every pip configuration source is switched off.
fn ask_pip() -> Result<String, String> {
    let mut command = Command::new("pip");
    without_pip_settings(command.args(["install", "--help"]))
        .env("PIP_CONFIG_FILE", if cfg!(windows) { "nul" } else { "/dev/null" });
    let output = command.output().map_err(|e| format!("`pip` could not be run to learn its default index: {e}"))?;
    let help = String::from_utf8_lossy(&output.stdout);
    default_index_from_help(&help).ok_or_else(|| "`pip install --help` did not show pip's default index".into())
}

/// Finds `(default URL)` in the description of `--index-url`, across pip's line wrapping.
fn default_index_from_help(help: &str) -> Option<String> {
    let words: Vec<&str> = help.split_whitespace().collect();
    let start = words.iter().position(|w| *w == "--index-url")?;
    words[start..]
        .windows(2)
        .take(40)
        .find(|pair| pair[0] == "(default")
        .map(|pair| pair[1].trim_end_matches(['.', ')']).trim_end_matches(')').to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_pip_default_from_wrapped_help() {
        let help = "  -i, --index-url <url>       Base URL of the Python Package Index (default\n                              https://index.example/simple). This should point to a\n  --extra-index-url <url>  Extra URLs (default none).";
        assert_eq!(default_index_from_help(help).as_deref(), Some("https://index.example/simple"));
        assert_eq!(default_index_from_help("no such option"), None);
    }

    /// What discovery makes of a `pip` on PATH at `bin` whose launcher it cannot follow.
    fn unfollowed(bin: &Path, launcher: &str) -> Discovery {
        std::fs::create_dir_all(bin).unwrap();
        // Written only when it changes: a rewrite alone is a changed pip.
        if std::fs::read_to_string(bin.join("pip")).ok().as_deref() != Some(launcher) {
            std::fs::write(bin.join("pip"), launcher).unwrap();
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(bin.join("pip"), std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let discovery = pip_files::discover(&Surroundings::new(bin, bin));
        assert_eq!(discovery.found, None);
        discovery
    }

    #[test]
    fn pip_is_asked_once_per_pip_and_remembered_outside_the_run_cache() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        let memory = Cache::new(dir.path().join("user-cache"), Freshness::Normal);
        let asked = std::cell::Cell::new(0);
        let ask = || {
            asked.set(asked.get() + 1);
            Ok("https://index.example/simple".to_string())
        };
        let learn = |launcher: &str, memory: Option<&Cache>| {
            pip_default_index(unfollowed(&bin, launcher), memory, ask).unwrap()
        };
        let first = learn("#!/usr/bin/env python3\n", Some(&memory));
        assert_eq!(first, ("https://index.example/simple".into(), "from `pip install --help`".into()));
        let again = learn("#!/usr/bin/env python3\n", Some(&memory));
        assert_eq!(again.1, "remembered from `pip install --help`");
        assert_eq!(asked.get(), 1);
        // Another pip (a rewritten launcher) is asked again, and so is pip when nothing may be kept.
        learn("#!/usr/bin/env python3.12\n", Some(&memory));
        learn("#!/usr/bin/env python3.12\n", None);
        assert_eq!(asked.get(), 3);
        // What an older hashlock kept (the URL alone) is not taken for an answer about this pip.
        memory.write_text(PIP_DEFAULT_KEY, "https://old.example/simple");
        assert_eq!(learn("#!/usr/bin/env python3.12\n", Some(&memory)).0, "https://index.example/simple");
        assert_eq!(asked.get(), 4);
        // A cache dir that cannot be written (a file in the way) costs the memory, not the run.
        let blocked = dir.path().join("blocked");
        std::fs::write(&blocked, "").unwrap();
        let unwritable = Cache::new(blocked.join("hashlock"), Freshness::Normal);
        assert_eq!(learn("#!/usr/bin/env python3\n", Some(&unwritable)).0, "https://index.example/simple");
    }

    #[test]
    fn pip_is_not_asked_when_its_files_tell() {
        let found = Discovery {
            trail: Default::default(),
            found: Some(("https://index.example/simple".into(), "/p/index.py".into())),
        };
        let (url, origin) = pip_default_index(found, None, || panic!("pip was asked")).unwrap();
        assert_eq!((url.as_str(), origin.as_str()), ("https://index.example/simple", "from /p/index.py"));
    }

    #[test]
    fn install_section_overrides_global_and_lists_continue() {
        let mut config = PipConfig::default();
        let text = "[global]\nindex-url = https://a.example/simple\ncert=/etc/ca.pem\n\n[install]\nindex_url = https://b.example/simple\nextra-index-url =\n    https://c.example/simple\n    https://d.example/simple\n[freeze]\nindex-url = https://ignored.example/simple\n";
        config.merge_ini(text, Path::new("pip.conf"));
        assert_eq!(config.get("index-url").map(|v| v.0), Some("https://b.example/simple"));
        assert_eq!(config.get("cert").map(|v| v.0), Some("/etc/ca.pem"));
        let extras: Vec<&str> = config.get("extra-index-url").unwrap().0.split_whitespace().collect();
        assert_eq!(extras, ["https://c.example/simple", "https://d.example/simple"]);
    }

    #[test]
    fn later_files_override_earlier_ones() {
        let mut config = PipConfig::default();
        config.merge_ini("[global]\nindex-url=https://a.example/simple\n", Path::new("/etc/pip.conf"));
        config.merge_ini("[global]\nindex-url=https://b.example/simple\n", Path::new("user.conf"));
        assert_eq!(config.get("index-url"), Some(("https://b.example/simple", Path::new("user.conf"))));
    }

    #[test]
    fn rejects_non_http_index_and_hides_credentials() {
        let err = parse_url("ftp://user:secret@host.example/simple", "--index-url").unwrap_err().to_string();
        assert!(err.contains("only http and https"), "{err}");
        assert!(!err.contains("secret"), "{err}");
    }
}
