//! Reader for Pipenv's `Pipfile.lock` (pipfile-spec 6): one environment's packages by category
//! (`default`, `develop`, custom ones), each with the hashes of any of its files, markers,
//! extras and index; the sources of `_meta`, whose `$VAR`s Pipenv expands.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use pep508_rs::MarkerTree;
use serde::Deserialize;
use serde_json::Value;

use crate::check::findings::Finding;
use crate::lockfile::reader::{LockText, SourceKeys, note_index, rejected_algorithm, selector, unhashable};
use crate::lockfile::{Artifact, LockFormat, Lockfile, LockfileError, Package};

#[derive(Deserialize)]
struct Meta {
    #[serde(default)]
    requires: Requires,
    #[serde(default)]
    sources: Vec<Source>,
}

#[derive(Default, Deserialize)]
struct Requires {
    python_version: Option<String>,
    python_full_version: Option<String>,
}

#[derive(Deserialize)]
struct Source {
    name: Option<String>,
    url: Option<String>,
}

#[derive(Deserialize)]
struct Entry {
    version: Option<String>,
    #[serde(default)]
    hashes: Vec<String>,
    markers: Option<String>,
    #[serde(default)]
    extras: Vec<String>,
    /// The name of one of `_meta.sources`.
    index: Option<String>,
    #[serde(flatten)]
    source: SourceKeys,
}

/// Looks up environment variables: the environment in production, a map in tests.
type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Parses `text` as the contents of `path`, a `Pipfile.lock`.
pub fn parse(text: &str, path: &Path) -> Result<Lockfile, LockfileError> {
    parse_with_env(text, path, &|name| std::env::var(name).ok())
}

fn parse_with_env(text: &str, path: &Path, env: EnvLookup<'_>) -> Result<Lockfile, LockfileError> {
    let lock_text = LockText::new(text, path, LockFormat::Pipfile);
    let document: Value = serde_json::from_str(text).map_err(|error| {
        if !text.trim_start().starts_with('{') {
            return lock_text.not_this_format("it is not JSON");
        }
        // serde_json ends its message with where: the line is said first instead.
        let message = error.to_string();
        let message = message.rsplit_once(" at line ").map_or(message.as_str(), |(message, _)| message);
        // A string cut by a line break is reported at column 0 of the next line: it is the
        // string's line that is wrong.
        let line = if error.column() == 0 { error.line().saturating_sub(1) } else { error.line() };
        LockfileError::invalid(path, line.max(1), message)
    })?;
    let Value::Object(sections) = &document else { return Err(lock_text.not_this_format("it is not a JSON object")) };
    let positions = json_positions(text);
    let at = |steps: &[&str]| {
        positions.get(&steps.iter().map(|step| Step::Key(step.to_string())).collect::<Vec<_>>()).copied().unwrap_or(0)
    };
    let Some((meta, spec)) = sections.get("_meta").and_then(|meta| Some((meta, meta.get("pipfile-spec")?))) else {
        return Err(lock_text.not_this_format("no _meta.pipfile-spec"));
    };
    if spec.as_u64() != Some(6) {
        let offset = at(&["_meta", "pipfile-spec"]);
        return Err(lock_text.unsupported_version(
            offset,
            "pipfile-spec",
            &spec.to_string(),
            "Pipfile.lock pipfile-spec 6",
        ));
    }
    let meta: Meta = serde_json::from_value(meta.clone())
        .map_err(|error| lock_text.invalid(at(&["_meta"]), format!("_meta: {error}")))?;

    let mut lockfile = Lockfile::new(path, LockFormat::Pipfile);
    lockfile.python_version = meta.requires.python_version.clone().or_else(|| {
        let full = meta.requires.python_full_version.as_deref()?;
        Some(full.split('.').take(2).collect::<Vec<_>>().join("."))
    });
    let mut index_urls: BTreeMap<String, String> = BTreeMap::new();
    for source in &meta.sources {
        let Some(url) = &source.url else { continue };
        let url = expand_vars(url, env, &mut lockfile.expanded);
        if let Some(name) = &source.name {
            index_urls.insert(name.clone(), url.clone());
        }
        note_index(&mut lockfile.indexes, &url);
    }

    // `default` and `develop` first, then custom categories by name.
    let mut categories: Vec<(&String, &Value)> = sections.iter().filter(|(key, _)| !key.starts_with('_')).collect();
    categories.sort_by_key(|(category, _)| (*category != "default", *category != "develop", *category));
    let default_index = lockfile.indexes.first().cloned();
    let reader = EntryReader { text: &lock_text, positions: &positions, index_urls: &index_urls, default_index };
    for (category, entries) in categories {
        let Value::Object(entries) = entries else { continue };
        for (name, entry) in entries {
            let (package, entry) = reader.package(category, name, entry)?;
            lockfile.findings.extend(entry_findings(&entry, &package));
            lockfile.packages.push(package);
        }
    }
    Ok(lockfile)
}

/// What reading a package entry needs of the whole file.
struct EntryReader<'a> {
    text: &'a LockText<'a>,
    positions: &'a HashMap<Vec<Step>, usize>,
    /// The URL of each source, by its name.
    index_urls: &'a BTreeMap<String, String>,
    /// Pipenv takes a package without an `index` from the first source.
    default_index: Option<String>,
}

impl EntryReader<'_> {
    /// The package of entry `name` of `category`, and the entry as read.
    fn package(&self, category: &str, name: &str, value: &Value) -> Result<(Package, Entry), LockfileError> {
        let step = |key: &str| Step::Key(key.to_string());
        let package_at = self.positions.get([step(category), step(name)].as_slice()).copied().unwrap_or(0);
        let entry: Entry = serde_json::from_value(value.clone()).map_err(|error| {
            // serde_json's values keep no positions: the key whose value alone fails is the one.
            let culprit = value.as_object().into_iter().flatten().find(|(key, field)| {
                let alone = Value::Object([((*key).clone(), (*field).clone())].into_iter().collect());
                serde_json::from_value::<Entry>(alone).is_err()
            });
            let at = culprit
                .and_then(|(key, _)| self.positions.get([step(category), step(name), step(key)].as_slice()).copied())
                .unwrap_or(package_at);
            self.text.invalid(at, format!("`{name}`: {error}"))
        })?;
        let hashes = entry
            .hashes
            .iter()
            .enumerate()
            .map(|(i, hash)| {
                let path = [step(category), step(name), step("hashes"), Step::Index(i)];
                self.text.hash(hash, self.positions.get(path.as_slice()).copied().unwrap_or(package_at))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let location = self.text.location(package_at);
        let pinned =
            entry.version.as_deref().and_then(|version| version.strip_prefix("===").or(version.strip_prefix("==")));
        let package = Package {
            name: self.text.name(name, package_at)?,
            version: pinned.map(|version| self.text.version(version, package_at)).transpose()?,
            marker: match &entry.markers {
                Some(markers) => self.text.marker(markers, package_at)?,
                None => MarkerTree::TRUE,
            },
            extras: entry.extras.iter().map(|extra| self.text.extra(extra, package_at)).collect::<Result<_, _>>()?,
            index: match &entry.index {
                Some(index) => Some(self.index_urls.get(index).unwrap_or(index).clone()),
                None => self.default_index.clone(),
            },
            // The hashes stand for any file of the version, as in a requirements file.
            artifacts: (!hashes.is_empty())
                .then(|| Artifact {
                    filename: None,
                    url: None,
                    hashes,
                    size: None,
                    upload_time: None,
                    location: location.clone(),
                })
                .into_iter()
                .collect(),
            dependencies: None,
            groups: [selector(category, "default")].into(),
            non_index_source: entry.source.non_index_source(),
            attestation_identities: Vec::new(),
            location,
        };
        Ok((package, entry))
    }
}

/// What the file alone says about one package: not from an index, or hashed with an algorithm
/// pip refuses. (Not pinned, as Pipenv writes `*` for a package whose markers exclude the
/// environment it locked for, is for the audit to say: it knows the environments.)
fn entry_findings(entry: &Entry, package: &Package) -> Vec<Finding> {
    let name = Some(&package.name);
    let mut findings: Vec<Finding> = unhashable(package, entry.source.is_local_tree()).into_iter().collect();
    let hashes = package.artifacts.iter().flat_map(|artifact| &artifact.hashes);
    findings.extend(hashes.filter_map(|hash| rejected_algorithm(hash, name)));
    findings
}

/// Python's `os.path.expandvars`, as Pipenv applies it to source URLs: `$NAME` and `${NAME}` of
/// a set variable are its value, anything else stays. `expanded` records each value taken, by
/// the name it came from, so that messages show the name instead.
fn expand_vars(text: &str, env: EnvLookup<'_>, expanded: &mut BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(dollar) = rest.find('$') {
        out.push_str(&rest[..dollar]);
        let after = &rest[dollar + 1..];
        let word_len = after.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(after.len());
        let (name, len) = match after.strip_prefix('{').and_then(|braced| braced.split_once('}')) {
            Some((name, _)) => (name, name.len() + 2),
            None => (&after[..word_len], word_len),
        };
        match env(name).filter(|_| !name.is_empty()) {
            Some(value) => {
                if !value.is_empty() {
                    expanded.insert(value.clone(), name.to_string());
                }
                out.push_str(&value);
                rest = &after[len..];
            }
            None => {
                out.push('$');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// A step from a JSON value into one of its members or elements.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Step {
    Key(String),
    Index(usize),
}

/// How deep [`json_positions`] records: `category / package / hashes / n`.
const POSITION_DEPTH: usize = 4;

/// Where each member key (and each array element) of a valid JSON text starts, by its path,
/// down to [`POSITION_DEPTH`] steps: serde_json keeps no positions. What does not scan (not
/// possible after serde_json has read the text) ends the scan with what was found.
fn json_positions(text: &str) -> HashMap<Vec<Step>, usize> {
    let mut scanner = JsonScanner { text, at: 0, path: Vec::new(), found: HashMap::new() };
    let _ = scanner.value();
    scanner.found
}

struct JsonScanner<'a> {
    text: &'a str,
    at: usize,
    path: Vec<Step>,
    found: HashMap<Vec<Step>, usize>,
}

impl JsonScanner<'_> {
    /// The next byte that is not whitespace, which the scan moves to.
    fn peek_past_whitespace(&mut self) -> Option<u8> {
        let skipped = self.text.as_bytes().get(self.at..)?.iter().take_while(|b| b.is_ascii_whitespace()).count();
        self.at += skipped;
        self.text.as_bytes().get(self.at).copied()
    }

    /// Steps into `step`, starting at the current offset, and scans its value.
    fn member(&mut self, step: Step, start: usize) -> Option<()> {
        self.path.push(step);
        if self.path.len() <= POSITION_DEPTH {
            self.found.insert(self.path.clone(), start);
        }
        let scanned = self.value();
        self.path.pop();
        scanned
    }

    fn value(&mut self) -> Option<()> {
        match self.peek_past_whitespace()? {
            b'{' => {
                self.at += 1;
                while self.peek_past_whitespace()? != b'}' {
                    let start = self.at;
                    let key = self.string()?;
                    (self.peek_past_whitespace()? == b':').then_some(())?;
                    self.at += 1;
                    self.member(Step::Key(key), start)?;
                    self.separator(b'}')?;
                }
                self.at += 1;
            }
            b'[' => {
                self.at += 1;
                let mut index = 0;
                while self.peek_past_whitespace()? != b']' {
                    self.member(Step::Index(index), self.at)?;
                    index += 1;
                    self.separator(b']')?;
                }
                self.at += 1;
            }
            b'"' => {
                self.string()?;
            }
            _ => {
                let rest = self.text.as_bytes().get(self.at..)?;
                self.at +=
                    rest.iter().take_while(|b| !matches!(b, b',' | b']' | b'}') && !b.is_ascii_whitespace()).count();
            }
        }
        Some(())
    }

    /// After a member: a comma, or the `close` it leaves in place.
    fn separator(&mut self, close: u8) -> Option<()> {
        match self.peek_past_whitespace()? {
            b',' => {
                self.at += 1;
                Some(())
            }
            found if found == close => Some(()),
            _ => None,
        }
    }

    /// A string at the current offset, decoded.
    fn string(&mut self) -> Option<String> {
        let start = self.at;
        let bytes = self.text.as_bytes();
        (bytes.get(start) == Some(&b'"')).then_some(())?;
        let mut end = start + 1;
        loop {
            match bytes.get(end)? {
                b'\\' => end += 2,
                b'"' => break,
                _ => end += 1,
            }
        }
        self.at = end + 1;
        serde_json::from_str(self.text.get(start..=end)?).ok()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::check::findings::{Code, Severity};
    use crate::lockfile::Selector;
    use crate::lockfile::reader::test_support::{assert_errors_at, line_of, texts};

    /// A Pipenv 2026 lock, cut down: sources with variables, `default`, `develop` and a custom
    /// category; hashes, markers, extras, an index by name, `*` for a package the locked
    /// environment does not need, a Git and an editable package.
    const LOCK: &str = r#"{
    "_meta": {
        "hash": {
            "sha256": "3882956a8802c0bb1a7253dc877370d494d2792fef753bcd8a0c6bfce455902a"
        },
        "pipfile-spec": 6,
        "requires": {
            "python_version": "3.11"
        },
        "sources": [
            {
                "name": "main",
                "url": "http://127.0.0.1:9/$INDEX_PATH",
                "verify_ssl": true
            },
            {
                "name": "private",
                "url": "http://ci:${PRIVATE_TOKEN}@127.0.0.1:9/private/simple",
                "verify_ssl": true
            }
        ]
    },
    "default": {
        "certifi": {
            "hashes": [
                "sha256:123BE5B01E5A31549C3CBA610A83C5D31916CF13D1D5D1A0DCE697C78B887DE7",
                "sha256:5e1e6c71ccaa1603fac2b9a249db7b40636fb1c67155b54672c5df1fc6e87d8f"
            ],
            "markers": "python_version >= '3.7'",
            "version": "==2026.10.19.post1"
        },
        "company-lib": {
            "hashes": [
                "sha256:715dc8493c36579a5b116995100f635e3572fdf8703e708ef1a08d943b36774e"
            ],
            "index": "private",
            "version": "==1.0"
        },
        "local-app": {
            "editable": true,
            "path": "."
        },
        "requests": {
            "extras": [
                "socks"
            ],
            "hashes": [
                "sha256:9f66f60b72fa17698c5f5f2511db1c139eb9fbf3dc52bc60a1d6d79c0a56b038",
                "sha256:5d3afea1ef9a9ce40e9a5ac897036cafb93b58cd14558e0183af57cfeedcd6fe"
            ],
            "index": "main",
            "markers": "python_version >= '3.8'",
            "version": "==2.32.3"
        },
        "tomli": {
            "markers": "python_version < '3.11'",
            "version": "*"
        },
        "vendored": {
            "git": "https://ci:t0ken@git.example/org/vendored.git",
            "ref": "0123456789abcdef0123456789abcdef01234567"
        }
    },
    "develop": {
        "pytest": {
            "hashes": [
                "md5:0cc175b9c0f1b6a831c399e269772661",
                "sha256:965370d062bce11e73868e0335abac31b4d3de0e82f4007408d242b4f8610761"
            ],
            "markers": "python_version >= '3.8'",
            "version": "==8.3.4"
        }
    },
    "docs": {
        "sphinx": {
            "version": ">=7"
        }
    }
}
"#;

    fn env(name: &str) -> Option<String> {
        match name {
            "INDEX_PATH" => Some("mirror/simple".to_string()),
            "PRIVATE_TOKEN" => Some("s3cr3t-t0ken".to_string()),
            _ => None,
        }
    }

    fn read(text: &str) -> Lockfile {
        parse_with_env(text, Path::new("Pipfile.lock"), &env).unwrap()
    }

    fn error(text: &str) -> String {
        parse_with_env(text, Path::new("Pipfile.lock"), &env).unwrap_err().to_string()
    }

    fn package<'a>(lock: &'a Lockfile, name: &str) -> &'a Package {
        lock.packages.iter().find(|p| p.name.as_ref() == name).unwrap()
    }

    #[test]
    fn categories_packages_and_their_hashes() {
        let lock = read(LOCK);
        assert!(!lock.universal);
        assert_eq!((lock.python_version.as_deref(), lock.requires_python.as_deref()), (Some("3.11"), None));
        let names: Vec<(&str, Vec<Selector>)> =
            lock.packages.iter().map(|p| (p.name.as_ref(), p.groups.iter().cloned().collect())).collect();
        let default = || vec![Selector::Default];
        assert_eq!(
            names,
            [
                ("certifi", default()),
                ("company-lib", default()),
                ("local-app", default()),
                ("requests", default()),
                ("tomli", default()),
                ("vendored", default()),
                ("pytest", vec![Selector::group("develop")]),
                ("sphinx", vec![Selector::group("docs")]),
            ]
        );
        let certifi = package(&lock, "certifi");
        assert_eq!(certifi.location.line, line_of(LOCK, "\"certifi\": {"));
        assert_eq!(certifi.version.as_ref().map(ToString::to_string).as_deref(), Some("2026.10.19.post1"));
        assert_eq!(certifi.marker.try_to_string().as_deref(), Some("python_full_version >= '3.7'"));
        // One artifact without a file name: the hashes stand for any file of the version.
        let [artifact] = certifi.artifacts.as_slice() else { panic!("{:?}", certifi.artifacts) };
        assert_eq!((artifact.filename.as_deref(), artifact.location.line), (None, certifi.location.line));
        let hashes: Vec<(&str, &str, usize)> =
            artifact.hashes.iter().map(|h| (h.algorithm.as_str(), &h.hex[..8], h.location.line)).collect();
        assert_eq!(
            hashes,
            [
                ("sha256", "123be5b0", line_of(LOCK, "sha256:123BE")),
                ("sha256", "5e1e6c71", line_of(LOCK, "sha256:5e1e"))
            ]
        );
        let requests = package(&lock, "requests");
        assert_eq!(requests.extras.iter().map(AsRef::as_ref).collect::<Vec<&str>>(), ["socks"]);
        assert_eq!(requests.artifacts[0].hashes[1].location.line, line_of(LOCK, "sha256:5d3a"));
        assert!(package(&lock, "company-lib").marker.is_true());
    }

    #[test]
    fn sources_expand_variables_and_messages_name_them() {
        let lock = read(LOCK);
        assert_eq!(
            lock.indexes,
            ["http://127.0.0.1:9/mirror/simple", "http://ci:s3cr3t-t0ken@127.0.0.1:9/private/simple"]
        );
        assert_eq!(package(&lock, "company-lib").index.as_deref(), Some(lock.indexes[1].as_str()));
        assert_eq!(package(&lock, "requests").index.as_deref(), Some("http://127.0.0.1:9/mirror/simple"));
        // Without an `index`, Pipenv takes the first source.
        assert_eq!(package(&lock, "certifi").index.as_deref(), Some("http://127.0.0.1:9/mirror/simple"));
        assert_eq!(
            lock.as_written("cannot fetch http://ci:s3cr3t-t0ken@127.0.0.1:9/private/simple/x/"),
            "cannot fetch http://ci:${PRIVATE_TOKEN}@127.0.0.1:9/private/simple/x/"
        );
        // An unknown index name is kept as written; an unset variable stays.
        let unknown =
            LOCK.replace("\"index\": \"private\"", "\"index\": \"elsewhere\"").replace("$INDEX_PATH", "${UNSET}");
        let lock = read(&unknown);
        assert_eq!(package(&lock, "company-lib").index.as_deref(), Some("elsewhere"));
        assert_eq!(lock.indexes[0], "http://127.0.0.1:9/${UNSET}");
    }

    #[test]
    fn expand_vars_is_pythons_expandvars() {
        let mut expanded = BTreeMap::new();
        let expand = |text: &str, expanded: &mut BTreeMap<String, String>| expand_vars(text, &env, expanded);
        assert_eq!(
            expand("$INDEX_PATH/${INDEX_PATH}x$INDEX_PATHx", &mut expanded),
            "mirror/simple/mirror/simplex$INDEX_PATHx"
        );
        assert_eq!(expand("$ ${ ${} $UNSET ${PRIVATE_TOKEN} 100$", &mut expanded), "$ ${ ${} $UNSET s3cr3t-t0ken 100$");
        assert_eq!(
            expanded,
            [
                ("s3cr3t-t0ken".to_string(), "PRIVATE_TOKEN".to_string()),
                ("mirror/simple".to_string(), "INDEX_PATH".to_string())
            ]
            .into()
        );
    }

    #[test]
    fn findings_for_unhashable_and_weak_entries() {
        let lock = read(LOCK);
        let found: Vec<(Code, Severity, &str, usize)> = lock
            .findings
            .iter()
            .map(|f| {
                let line =
                    f.location.as_deref().and_then(|l| l.rsplit_once(':')).map_or(0, |(_, line)| line.parse().unwrap());
                (f.code, f.severity, f.package.as_deref().unwrap_or_default(), line)
            })
            .collect();
        assert_eq!(
            found,
            [
                // `path = "."`: the project's own tree.
                (Code::Unhashable, Severity::Info, "local-app", line_of(LOCK, "\"local-app\"")),
                (Code::Unhashable, Severity::Error, "vendored", line_of(LOCK, "\"vendored\"")),
                (Code::WeakHashOnly, Severity::Error, "pytest", line_of(LOCK, "md5:")),
            ]
        );
        assert!(lock.findings.iter().all(|f| !f.message.contains("t0ken")));
        assert_eq!(package(&lock, "local-app").non_index_source.as_deref(), Some("editable path ."));
        assert_eq!(
            lock.findings[0].message,
            "local-app comes from editable path .: it is built from the local source tree, which no hash covers"
        );
        assert_eq!((package(&lock, "tomli").version.as_ref(), package(&lock, "tomli").artifacts.len()), (None, 0));
        // Not pinned to one version: the audit says so, for the environments it checks.
        assert_eq!(package(&lock, "sphinx").version, None);
    }

    #[test]
    fn lines_are_found_however_the_json_is_laid_out() {
        // On one line, a name in two categories, and a value that reads like a key.
        let text = r#"{"_meta": {"pipfile-spec": 6, "sources": [], "note": "\"six\": {"},
"develop": {"six": {"version": "==1.16.0", "hashes": ["sha256:aa", "sha256:bb"]}},
  "default":
    {
      "w\u0069ndows": {"version": "==1.0"},
      "six": {"hashes":
         ["sha256:cc",
          "sha256:dd"], "version": "==1.16.0"}}}"#;
        let lock = read(text);
        let lines: Vec<(&str, usize, Vec<usize>)> = lock
            .packages
            .iter()
            .map(|p| {
                (
                    p.name.as_ref(),
                    p.location.line,
                    p.artifacts.iter().flat_map(|a| a.hashes.iter().map(|h| h.location.line)).collect(),
                )
            })
            .collect();
        assert_eq!(lines, [("six", 6, vec![7, 8]), ("windows", 5, vec![]), ("six", 2, vec![2, 2])]);
    }

    #[test]
    fn python_version_from_the_full_version() {
        let text = LOCK.replace("\"python_version\": \"3.11\"", "\"python_full_version\": \"3.12.4\"");
        assert_eq!(read(&text).python_version.as_deref(), Some("3.12"));
        assert_eq!(read(&LOCK.replace("\"python_version\": \"3.11\"", "\"other\": 1")).python_version, None);
    }

    #[test]
    fn versions_and_other_formats_are_refused() {
        assert_eq!(
            error(&LOCK.replace("\"pipfile-spec\": 6", "\"pipfile-spec\": 7")),
            format!(
                "Pipfile.lock:{}: pipfile-spec 7 is not supported: hashlock reads Pipfile.lock pipfile-spec 6",
                line_of(LOCK, "pipfile-spec")
            )
        );
        let not = |why: &str| {
            format!(
                "Pipfile.lock:1: does not look like a Pipfile.lock: {why}; pass --lock-format if it is another format"
            )
        };
        assert_eq!(error("[metadata]\nlock-version = \"2.1\"\n"), not("it is not JSON"));
        assert_eq!(error("[1, 2]"), not("it is not a JSON object"));
        assert_eq!(error("{\"default\": {}}"), not("no _meta.pipfile-spec"));
    }

    #[test]
    fn malformed_locks_are_one_line_errors_at_the_line() {
        let cases = [
            (
                LOCK.replace("\"version\": \"==8.3.4\"\n", "\"version\": \"==8.3.4\",\n"),
                line_of(LOCK, "\"version\": \"==8.3.4\"") + 1,
            ),
            // At the key whose value is of the wrong type.
            (LOCK.replace("\"version\": \"==1.0\"", "\"version\": 1"), line_of(LOCK, "\"version\": \"==1.0\"")),
            (LOCK.replace("\"version\": \"==1.0\"", "\"version\": \"==one\""), line_of(LOCK, "\"company-lib\"")),
            (LOCK.replace("sha256:715d", "sha256:x15d"), line_of(LOCK, "sha256:715d")),
            (
                LOCK.replace("\"markers\": \"python_version < '3.11'\"", "\"markers\": \"python_version <\""),
                line_of(LOCK, "\"tomli\""),
            ),
            (LOCK.replace("\"socks\"", "\"socks_\""), line_of(LOCK, "\"requests\"")),
            (LOCK.replace("\"sources\": [", "\"sources\": 5, \"x\": ["), line_of(LOCK, "\"_meta\"")),
        ];
        assert_errors_at(&cases, "Pipfile.lock", |text| parse_with_env(text, Path::new("Pipfile.lock"), &env));
        assert_eq!(
            error(&LOCK.replace("\"version\": \"==1.0\"", "\"version\": 1")),
            format!(
                "Pipfile.lock:{}: `company-lib`: invalid type: integer `1`, expected a string",
                line_of(LOCK, "\"version\": \"==1.0\"")
            )
        );
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(text in texts(vec![LOCK])) {
            let _ = parse_with_env(&text, Path::new("Pipfile.lock"), &env);
            let _ = json_positions(&text);
        }
    }
}
