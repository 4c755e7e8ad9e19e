//! Parser for pip requirements files: comments, continuation lines, `-r`/`-c` includes,
//! per-requirement `--hash` options, and global options. Keeps file and line for messages.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use pep508_rs::pep440_rs::{Operator, Version};
use pep508_rs::{PackageName, Requirement, VersionOrUrl};

use crate::check::findings::{Code, Finding, Severity};
use crate::dist::Formats;
use crate::index::http::redact_text;
use crate::lockfile::reader::rejected_algorithm;
use crate::lockfile::{Artifact, Hash, Location, LockFormat, Lockfile, LockfileError, Package};

/// A `--hash` option on a line of its own that pip never attaches to a requirement, because a
/// comment line (or a blank line) ended the continuation before it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrphanedHash {
    pub hash: Hash,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntryKind {
    /// A PEP 508 requirement by name (`name[extras] specifiers ; marker`).
    Named(Requirement),
    /// `-e ...` / `--editable ...`, as written.
    Editable(String),
    /// A URL, VCS or local path requirement, as written.
    Url(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub kind: EntryKind,
    pub location: Location,
    /// `--hash` options of this requirement, in file order.
    pub hashes: Vec<Hash>,
    /// From a `-c` file (limits versions, adds no package).
    pub constraint: bool,
    /// Build options of this requirement (`--config-settings`, `--global-option`, ...).
    pub options: Vec<FileOption>,
}

/// An option that changes what pip fetches or builds, where it is written. Its value is as
/// expanded; [`RequirementsFile::as_written`] turns it back for messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileOption {
    pub opt: Opt,
    /// Empty for a flag such as `--pre`.
    pub value: String,
    pub location: Location,
}

/// pip's `FormatControl`: the packages `--no-binary` and `--only-binary` name (`:all:` for
/// every package), as the options of every line of the file leave it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FormatControl {
    no_binary: BTreeSet<String>,
    only_binary: BTreeSet<String>,
}

impl FormatControl {
    /// pip's `handle_mutual_excludes`: a name moves into one set and out of the other, `:all:`
    /// empties both, `:none:` empties the one being set.
    fn add(&mut self, value: &str, no_binary: bool) {
        let (target, other) = if no_binary {
            (&mut self.no_binary, &mut self.only_binary)
        } else {
            (&mut self.only_binary, &mut self.no_binary)
        };
        let names: Vec<&str> = value.split(',').collect();
        let mut rest = names.as_slice();
        while let Some(all) = rest.iter().position(|name| *name == ":all:") {
            other.clear();
            target.clear();
            target.insert(":all:".to_string());
            rest = &rest[all + 1..];
            if !rest.contains(&":none:") {
                return;
            }
        }
        for name in rest {
            if *name == ":none:" {
                target.clear();
                continue;
            }
            let name = PackageName::from_str(name).map_or_else(|_| name.to_ascii_lowercase(), |n| n.to_string());
            other.remove(&name);
            target.insert(name);
        }
    }

    /// pip's `get_allowed_formats`: a name beats `:all:`, and `--only-binary` beats `--no-binary`.
    pub fn allowed(&self, name: &PackageName) -> Formats {
        let (wheel_only, sdist_only) =
            (Formats { sdist: false, ..Formats::ANY }, Formats { wheel: false, ..Formats::ANY });
        if self.only_binary.contains(name.as_ref()) {
            wheel_only
        } else if self.no_binary.contains(name.as_ref()) {
            sdist_only
        } else if self.only_binary.contains(":all:") {
            wheel_only
        } else if self.no_binary.contains(":all:") {
            sdist_only
        } else {
            Formats::ANY
        }
    }
}

/// A parsed requirements file with its includes flattened, in file order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequirementsFile {
    pub entries: Vec<Entry>,
    /// `--require-hashes` appears in the file.
    pub require_hashes: bool,
    /// `--pre` appears in the file.
    pub pre: bool,
    /// The `--index-url` / `-i` of the file (or its includes); as in pip, a later one replaces
    /// an earlier one.
    pub index_url: Option<String>,
    pub extra_index_urls: Vec<String>,
    pub orphaned_hashes: Vec<OrphanedHash>,
    /// The options of option lines that change what pip fetches or builds, in file order.
    pub options: Vec<FileOption>,
    pub format_control: FormatControl,
    /// `${NAME}` references pip expands, by the value they expanded to.
    expanded: BTreeMap<String, String>,
}

impl RequirementsFile {
    /// `text` (a message) with every value the file took from `${NAME}` shown as `${NAME}`
    /// again: tokens live in those variables, and a message must not put one in a CI log.
    pub fn as_written(&self, text: &str) -> String {
        as_written(text, &self.expanded)
    }
}

/// See [`RequirementsFile::as_written`]. Values are matched ignoring ASCII case (hashes are
/// lowercased), longest first; values under four characters are not secrets and are left, so
/// that `${PY}` = `3` does not turn every 3 of a message into `${PY}`.
pub(crate) fn as_written(text: &str, expanded: &BTreeMap<String, String>) -> String {
    let mut values: Vec<(&String, &String)> = expanded.iter().filter(|(value, _)| value.len() >= 4).collect();
    values.sort_by_key(|(value, _)| std::cmp::Reverse(value.len()));
    let mut text = text.to_string();
    for (value, name) in values {
        let (lower, needle) = (text.to_ascii_lowercase(), value.to_ascii_lowercase());
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        for (start, _) in lower.match_indices(&needle) {
            out.push_str(&text[last..start]);
            out.push_str(&format!("${{{name}}}"));
            last = start + needle.len();
        }
        out.push_str(&text[last..]);
        text = out;
    }
    text
}

/// Reads `path` (with its includes) into the lockfile model.
pub fn read(path: &Path) -> Result<Lockfile, LockfileError> {
    Ok(parse_file(path)?.into_lockfile(path))
}

/// Parses `text` as the contents of `path` into the lockfile model.
pub fn parse(text: &str, path: &Path) -> Result<Lockfile, LockfileError> {
    Ok(parse_str(text, path)?.into_lockfile(path))
}

impl RequirementsFile {
    /// The model of the file: one package per requirement line (its `--hash` options stand for
    /// any file of the version), and the findings the file alone gives.
    pub fn into_lockfile(self, path: &Path) -> Lockfile {
        let mut lockfile = Lockfile::new(path, LockFormat::Requirements);
        lockfile.findings = static_checks(&self);
        lockfile.packages = self
            .entries
            .iter()
            .filter(|entry| !entry.constraint)
            .filter_map(|entry| {
                let EntryKind::Named(requirement) = &entry.kind else { return None };
                let artifacts = (!entry.hashes.is_empty()).then(|| Artifact {
                    filename: None,
                    url: None,
                    hashes: entry.hashes.clone(),
                    size: None,
                    upload_time: None,
                    location: entry.location.clone(),
                });
                Some(Package {
                    name: requirement.name.clone(),
                    version: pinned_version(requirement),
                    marker: requirement.marker.clone(),
                    extras: requirement.extras.clone(),
                    index: None,
                    artifacts: artifacts.into_iter().collect(),
                    dependencies: None,
                    groups: BTreeSet::new(),
                    non_index_source: None,
                    attestation_identities: Vec::new(),
                    location: entry.location.clone(),
                })
            })
            .collect();
        lockfile.indexes = self.index_url.iter().chain(&self.extra_index_urls).cloned().collect();
        lockfile.format_control = self.format_control;
        lockfile.expanded = self.expanded;
        lockfile
    }
}

/// `==X` (without a wildcard) or `===X`: the only forms pip's hash checking accepts.
fn pinned_version(requirement: &Requirement) -> Option<Version> {
    let Some(VersionOrUrl::VersionSpecifier(specifiers)) = &requirement.version_or_url else { return None };
    let mut iter = specifiers.iter();
    let (Some(only), None) = (iter.next(), iter.next()) else { return None };
    matches!(only.operator(), Operator::Equal | Operator::ExactEqual).then(|| only.version().clone())
}

/// Findings that need only the file itself.
fn static_checks(file: &RequirementsFile) -> Vec<Finding> {
    let mut findings: Vec<Finding> = file.options.iter().map(|option| option_finding(option, None)).collect();
    let hashed_file = file.require_hashes || file.entries.iter().any(|e| !e.hashes.is_empty());
    for entry in file.entries.iter().filter(|e| !e.constraint) {
        let (name, display) = match &entry.kind {
            EntryKind::Named(requirement) => (Some(&requirement.name), requirement.to_string()),
            EntryKind::Editable(what) | EntryKind::Url(what) => {
                findings.push(
                    Finding::new(
                        Code::Unhashable,
                        None,
                        format!(
                            "`{}`: editable, VCS, URL or directory requirements cannot be hash-checked",
                            redact_text(what)
                        ),
                    )
                    .at(&entry.location),
                );
                continue;
            }
        };
        if matches!(&entry.kind, EntryKind::Named(r) if pinned_version(r).is_none()) {
            findings.push(
                Finding::new(
                    Code::Unpinned,
                    name,
                    format!("`{display}` is not pinned with == (pip --require-hashes refuses it)"),
                )
                .at(&entry.location),
            );
        }
        if entry.hashes.is_empty() {
            let consequence = if hashed_file {
                "in a file that uses hashes (pip refuses the whole file)"
            } else {
                "(nor does any line: pip installs whatever the index serves, unchecked)"
            };
            findings.push(
                Finding::new(Code::UnhashedRequirement, name, format!("`{display}` has no --hash {consequence}"))
                    .at(&entry.location),
            );
        }
        findings.extend(entry.options.iter().map(|option| option_finding(option, name)));
        findings.extend(entry.hashes.iter().filter_map(|hash| rejected_algorithm(hash, name)));
    }
    for orphan in &file.orphaned_hashes {
        // The requirement it was cut from: the last one above it in the same file.
        let owner = file
            .entries
            .iter()
            .filter(|e| e.location.file == orphan.hash.location.file && e.location.line < orphan.hash.location.line)
            .max_by_key(|e| e.location.line);
        let (name, from) = match owner.map(|e| &e.kind) {
            Some(EntryKind::Named(requirement)) => {
                (Some(&requirement.name), format!("`{requirement}` (line {})", owner.map_or(0, |e| e.location.line)))
            }
            _ => (None, "its requirement".to_string()),
        };
        findings.push(
            Finding::new(
                Code::OrphanedHash,
                name,
                format!(
                    "--hash={}:{}… is cut off from {from} (a comment line or a line break ends that requirement first); pip ignores it silently",
                    orphan.hash.algorithm,
                    orphan.hash.hex.get(..12).unwrap_or(&orphan.hash.hex)
                ),
            )
            .at(&orphan.hash.location),
        );
    }
    findings
}

/// An option that makes pip fetch from, trust or build with something this audit did not check.
fn option_finding(option: &FileOption, package: Option<&PackageName>) -> Finding {
    let (severity, effect) = match option.opt {
        Opt::IndexUrl | Opt::ExtraIndexUrl => (Severity::Error, "pip fetches from an index this audit did not check"),
        Opt::NoIndex => (Severity::Error, "pip ignores the index and takes files from --find-links locations only"),
        Opt::FindLinks => (Severity::Error, "pip also takes files from a location this audit did not check"),
        Opt::TrustedHost => (Severity::Error, "pip accepts that host without a verified certificate"),
        Opt::GlobalOption | Opt::InstallOption | Opt::ConfigSettings => {
            (Severity::Error, "passed to the build of the package, which runs with it")
        }
        Opt::NoBinary => {
            (Severity::Warning, "pip builds these from sdists, and build dependencies are not hash-checked")
        }
        Opt::Pre => (Severity::Warning, "pip may pick pre-releases"),
        Opt::OnlyBinary | Opt::PreferBinary => (Severity::Info, "changes which file pip picks"),
        _ => (Severity::Warning, "changes what pip does"),
    };
    let written = if option.value.is_empty() {
        option.opt.name().to_string()
    } else {
        format!("{} {}", option.opt.name(), redact_text(&option.value))
    };
    let mut finding = Finding::new(Code::FileOption, package, format!("`{written}`: {effect}")).at(&option.location);
    finding.severity = severity;
    finding
}

#[derive(Debug, thiserror::Error)]
pub enum ReqFileError {
    #[error("{path}: cannot read")]
    Read { path: String, source: std::io::Error },
    #[error("{location}: {message}")]
    Syntax { location: Location, message: String },
}

impl ReqFileError {
    fn into_written(self, expanded: &BTreeMap<String, String>) -> Self {
        let path = |path: &Path| PathBuf::from(as_written(&path.display().to_string(), expanded));
        match self {
            Self::Read { path: file, source } => Self::Read { path: as_written(&file, expanded), source },
            Self::Syntax { location, message } => Self::Syntax {
                location: Location { file: path(&location.file), line: location.line },
                message: as_written(&message, expanded),
            },
        }
    }
}

/// Reads and parses `path`, following `-r`/`-c` includes relative to the including file.
pub fn parse_file(path: &Path) -> Result<RequirementsFile, ReqFileError> {
    let text = read_text(path, None)?;
    parse_str(&text, path)
}

/// Parses `text` as the contents of `path` (includes are read relative to `path`).
pub fn parse_str(text: &str, path: &Path) -> Result<RequirementsFile, ReqFileError> {
    parse_with_env(text, path, &|name| std::env::var(name).ok())
}

/// Looks up `${NAME}` variables; the environment in production, a map in tests.
type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

fn parse_with_env(text: &str, path: &Path, env: EnvLookup<'_>) -> Result<RequirementsFile, ReqFileError> {
    let mut parser =
        Parser { env, out: RequirementsFile::default(), chain: vec![(identity(path), path.to_path_buf())] };
    match parser.parse_text(text, path, false) {
        Ok(()) => Ok(parser.out),
        Err(error) => Err(error.into_written(&parser.out.expanded)),
    }
}

/// Reads a requirements file as UTF-8 (a UTF-8 byte order mark is dropped, as pip does).
/// `included_from` is the `-r`/`-c` line that names the file, for the message.
fn read_text(path: &Path, included_from: Option<&Location>) -> Result<String, ReqFileError> {
    let bytes = fs::read(path).map_err(|source| {
        let path = match included_from {
            Some(location) => format!("{} (included from {location})", path.display()),
            None => path.display().to_string(),
        };
        ReqFileError::Read { path, source }
    })?;
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf".as_slice()).unwrap_or(&bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(text.to_string()),
        Err(error) => {
            let valid = &bytes[..error.valid_up_to()];
            let line = 1 + valid.iter().filter(|&&b| b == b'\n').count();
            Err(syntax(Location { file: path.to_path_buf(), line }, "not valid UTF-8 text".to_string()))
        }
    }
}

/// What identifies a file for include-cycle detection: its canonical path when it exists.
fn identity(path: &Path) -> PathBuf {
    fs::canonicalize(path).or_else(|_| std::path::absolute(path)).unwrap_or_else(|_| path.to_path_buf())
}

fn syntax(location: Location, message: String) -> ReqFileError {
    ReqFileError::Syntax { location, message }
}

/// Walks a file and its includes, collecting into `out`.
struct Parser<'a> {
    env: EnvLookup<'a>,
    out: RequirementsFile,
    /// The files being read, outermost first: (identity, path as named), to detect include cycles.
    chain: Vec<(PathBuf, PathBuf)>,
}

impl Parser<'_> {
    fn parse_text(&mut self, text: &str, file: &Path, constraint: bool) -> Result<(), ReqFileError> {
        for line in logical_lines(text, self.env, &mut self.out.expanded) {
            self.parse_line(&line, file, constraint)?;
        }
        Ok(())
    }

    /// One logical line, as pip's `handle_line`: a requirement with its own options, or a line of
    /// options only. On a requirement line pip ignores the global options.
    fn parse_line(&mut self, line: &LogicalLine, file: &Path, constraint: bool) -> Result<(), ReqFileError> {
        let at = |offset: usize| Location { file: file.to_path_buf(), line: line.line_at(offset) };
        let options_start = options_start(&line.text);
        let args = line.text[..options_start].trim_end();
        let tokens = shlex_split(&line.text, options_start)
            .map_err(|message| syntax(at(options_start), format!("cannot split options: {message}")))?;
        let opts = LineOptions::parse(&tokens, &at)?;
        // pip applies these in optparse callbacks, so on any line, whatever else it holds.
        for option in opts.options.iter().filter(|o| matches!(o.opt, Opt::NoBinary | Opt::OnlyBinary)) {
            self.out.format_control.add(&option.value, option.opt == Opt::NoBinary);
            self.out.options.push(option.clone());
        }
        let (per_requirement, global): (Vec<FileOption>, Vec<FileOption>) =
            opts.options.into_iter().partition(|o| o.opt.per_requirement());

        // pip: the requirement is the text before the options, else the first `-e` value.
        let requirement = if args.is_empty() { opts.editables.first().map(String::as_str) } else { Some(args) };
        if let Some(requirement) = requirement {
            let location = at(0);
            let kind = if opts.editables.is_empty() {
                classify(requirement).map_err(|message| syntax(location.clone(), message))?
            } else {
                EntryKind::Editable(requirement.to_string())
            };
            self.out.entries.push(Entry { kind, location, hashes: opts.hashes, constraint, options: per_requirement });
            return Ok(());
        }

        self.out.orphaned_hashes.extend(opts.hashes.into_iter().map(|hash| OrphanedHash { hash }));
        // pip follows only the first `-r` of a line (else the first `-c`) and then ignores the
        // line's other options.
        let include = opts.requirements.first().map(|(target, offset)| (target, *offset, false));
        if let Some((target, offset, nested_constraint)) =
            include.or_else(|| opts.constraints.first().map(|(target, offset)| (target, *offset, true)))
        {
            return self.include(target, at(offset), file, nested_constraint);
        }
        self.out.require_hashes |= opts.require_hashes;
        for option in global.into_iter().filter(|o| !matches!(o.opt, Opt::NoBinary | Opt::OnlyBinary)) {
            match option.opt {
                Opt::IndexUrl => self.out.index_url = Some(option.value.clone()),
                Opt::ExtraIndexUrl => self.out.extra_index_urls.push(option.value.clone()),
                Opt::Pre => self.out.pre = true,
                _ => {}
            }
            self.out.options.push(option);
        }
        Ok(())
    }

    /// Parses the file named by `-r target` / `-c target` (relative to the including file).
    fn include(&mut self, target: &str, location: Location, file: &Path, constraint: bool) -> Result<(), ReqFileError> {
        if is_remote(target) {
            let target = redact_text(target);
            return Err(syntax(location, format!("{target}: requirements files over URLs are not supported")));
        }
        let path = file.parent().unwrap_or(Path::new("")).join(target);
        let text = read_text(&path, Some(&location))?;
        let key = identity(&path);
        if let Some(first) = self.chain.iter().position(|(k, _)| *k == key) {
            let cycle: Vec<String> = self.chain[first..]
                .iter()
                .map(|(_, p)| p.as_path())
                .chain([path.as_path()])
                .map(|p| p.display().to_string())
                .collect();
            return Err(syntax(location, format!("include cycle: {}", cycle.join(" -> "))));
        }
        self.chain.push((key, path.clone()));
        let parsed = self.parse_text(&text, &path, constraint);
        self.chain.pop();
        parsed
    }
}

/// pip's `SCHEME_RE`: includes it would fetch over the network.
fn is_remote(target: &str) -> bool {
    target
        .split_once(':')
        .is_some_and(|(scheme, _)| ["http", "https", "file"].iter().any(|s| scheme.eq_ignore_ascii_case(s)))
}

/// A logical line (physical lines joined, comment removed, trimmed) and, for each of its
/// bytes, the 1-based physical line it came from.
#[derive(Debug, Default)]
struct LogicalLine {
    text: String,
    lines: Vec<usize>,
}

impl LogicalLine {
    fn push(&mut self, s: &str, line: usize) {
        self.text.push_str(s);
        self.lines.resize(self.text.len(), line);
    }

    /// The physical line of the byte at `offset` (the last line for the end of the text).
    fn line_at(&self, offset: usize) -> usize {
        self.lines.get(offset).or(self.lines.last()).copied().unwrap_or(1)
    }

    fn slice(&self, start: usize, end: usize) -> LogicalLine {
        LogicalLine { text: self.text[start..end].to_string(), lines: self.lines[start..end].to_vec() }
    }
}

/// Python's `str.isspace`, which pip's regexes and `strip()` use.
fn is_space(c: char) -> bool {
    c.is_whitespace() || ('\x1c'..='\x1f').contains(&c)
}

/// pip's `preprocess`: `splitlines`, `join_lines`, `ignore_comments`, `expand_env_variables`.
/// `expanded` collects the values of the variables expanded, for [`as_written`].
fn logical_lines(text: &str, env: EnvLookup<'_>, expanded: &mut BTreeMap<String, String>) -> Vec<LogicalLine> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut joined = Vec::new();
    let mut pending: Option<LogicalLine> = None;
    for (index, physical) in split_lines(text).into_iter().enumerate() {
        let number = index + 1;
        // A comment line ends a continuation even when it ends with a backslash.
        let comment = physical.trim_start_matches(is_space).starts_with('#');
        if comment || !physical.ends_with('\\') {
            let mut line = pending.take().unwrap_or_default();
            if comment {
                line.push(" ", number);
            }
            line.push(physical, number);
            joined.push(line);
        } else {
            pending.get_or_insert_with(LogicalLine::default).push(physical.trim_matches('\\'), number);
        }
    }
    joined.extend(pending);
    joined
        .into_iter()
        .filter_map(|line| {
            let end = comment_start(&line.text);
            let kept = &line.text[..end];
            let start = kept.len() - kept.trim_start_matches(is_space).len();
            let end = kept.trim_end_matches(is_space).len();
            (start < end).then(|| expand_env(&line.slice(start, end), env, expanded))
        })
        .collect()
}

/// Python's `str.splitlines()`: every Unicode line boundary, no trailing empty line.
fn split_lines(text: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let boundary =
            matches!(c, '\n' | '\r' | '\x0b' | '\x0c' | '\x1c' | '\x1d' | '\x1e' | '\u{85}' | '\u{2028}' | '\u{2029}');
        if boundary {
            lines.push(&text[start..i]);
            start = i + c.len_utf8();
            if c == '\r' && chars.peek().is_some_and(|&(_, next)| next == '\n') {
                chars.next();
                start += 1;
            }
        }
    }
    if start < text.len() {
        lines.push(&text[start..]);
    }
    lines
}

/// Where pip's `COMMENT_RE` (`(^|\s+)#.*$`) starts: the first `#` at the start or after
/// whitespace. Returns the text length when there is none.
fn comment_start(text: &str) -> usize {
    let mut previous: Option<char> = None;
    for (i, c) in text.char_indices() {
        if c == '#' && previous.is_none_or(is_space) {
            return i;
        }
        previous = Some(c);
    }
    text.len()
}

/// Replaces `${NAME}` (NAME of `[A-Z0-9_]`) by the variable's value when it is set and not
/// empty, as pip does; anything else stays as written.
fn expand_env(line: &LogicalLine, env: EnvLookup<'_>, expanded: &mut BTreeMap<String, String>) -> LogicalLine {
    let text = &line.text;
    let mut out = LogicalLine::default();
    let mut i = 0;
    while let Some(c) = text[i..].chars().next() {
        if let Some(rest) = text[i..].strip_prefix("${") {
            let name_len =
                rest.bytes().take_while(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'_').count();
            let value = (name_len > 0 && rest[name_len..].starts_with('}'))
                .then(|| env(&rest[..name_len]))
                .flatten()
                .filter(|v| !v.is_empty());
            if let Some(value) = value {
                out.push(&value, line.lines[i]);
                expanded.insert(value, rest[..name_len].to_string());
                i += name_len + 3;
                continue;
            }
        }
        out.push(&text[i..i + c.len_utf8()], line.lines[i]);
        i += c.len_utf8();
    }
    out
}

/// pip's `break_args_options`: the options start at the first space-separated token that
/// begins with `-`. Returns its byte offset (the text length when there are no options).
fn options_start(text: &str) -> usize {
    let mut start = 0;
    for token in text.split(' ') {
        if token.starts_with('-') {
            return start;
        }
        start += token.len() + 1;
    }
    text.len()
}

/// A shell word of the options part, and the byte offset where it starts.
#[derive(Debug)]
struct Token {
    text: String,
    offset: usize,
}

/// Python's `shlex.split` (POSIX mode, no comments) of `text[start..]`, keeping where each word
/// starts in `text`.
fn shlex_split(text: &str, start: usize) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut current: Option<Token> = None;
    let mut quote: Option<char> = None;
    let mut chars = text.char_indices().skip_while(|&(i, _)| i < start);
    while let Some((i, c)) = chars.next() {
        match quote {
            Some(q) if c == q => quote = None,
            Some('"') if c == '\\' => {
                let (_, next) = chars.next().ok_or("no escaped character")?;
                let word = &mut current.get_or_insert(Token { text: String::new(), offset: i }).text;
                // Inside double quotes a backslash escapes only `"` and itself.
                if next != '"' && next != '\\' {
                    word.push('\\');
                }
                word.push(next);
            }
            Some(_) => current.get_or_insert(Token { text: String::new(), offset: i }).text.push(c),
            None if matches!(c, ' ' | '\t' | '\r' | '\n') => tokens.extend(current.take()),
            None => {
                let word = current.get_or_insert(Token { text: String::new(), offset: i });
                match c {
                    '\'' | '"' => quote = Some(c),
                    '\\' => word.text.push(chars.next().ok_or("no escaped character")?.1),
                    _ => word.text.push(c),
                }
            }
        }
    }
    if quote.is_some() {
        return Err("no closing quotation".to_string());
    }
    tokens.extend(current);
    Ok(tokens)
}

/// The options pip accepts in a requirements file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Opt {
    IndexUrl,
    ExtraIndexUrl,
    NoIndex,
    Constraint,
    Requirement,
    Editable,
    FindLinks,
    NoBinary,
    OnlyBinary,
    PreferBinary,
    RequireHashes,
    Pre,
    TrustedHost,
    UseFeature,
    GlobalOption,
    InstallOption,
    Hash,
    ConfigSettings,
}

impl Opt {
    fn takes_value(self) -> bool {
        !matches!(self, Opt::NoIndex | Opt::PreferBinary | Opt::RequireHashes | Opt::Pre)
    }

    /// pip's `SUPPORTED_OPTIONS_REQ` (but `--hash`): pip passes them to the requirement's build.
    fn per_requirement(self) -> bool {
        matches!(self, Opt::GlobalOption | Opt::InstallOption | Opt::ConfigSettings)
    }

    /// The long spelling, for messages.
    pub fn name(self) -> &'static str {
        OPTIONS.iter().find(|(spelling, opt)| *opt == self && spelling.starts_with("--")).map_or("?", |(s, _)| s)
    }
}

/// Option spellings, as pip's `SUPPORTED_OPTIONS` and `SUPPORTED_OPTIONS_REQ` declare them.
/// Every short option takes a value.
const OPTIONS: &[(&str, Opt)] = &[
    ("-i", Opt::IndexUrl),
    ("--index-url", Opt::IndexUrl),
    ("--pypi-url", Opt::IndexUrl),
    ("--extra-index-url", Opt::ExtraIndexUrl),
    ("--no-index", Opt::NoIndex),
    ("-c", Opt::Constraint),
    ("--constraint", Opt::Constraint),
    ("-r", Opt::Requirement),
    ("--requirement", Opt::Requirement),
    ("-e", Opt::Editable),
    ("--editable", Opt::Editable),
    ("-f", Opt::FindLinks),
    ("--find-links", Opt::FindLinks),
    ("--no-binary", Opt::NoBinary),
    ("--only-binary", Opt::OnlyBinary),
    ("--prefer-binary", Opt::PreferBinary),
    ("--require-hashes", Opt::RequireHashes),
    ("--pre", Opt::Pre),
    ("--trusted-host", Opt::TrustedHost),
    ("--use-feature", Opt::UseFeature),
    ("--global-option", Opt::GlobalOption),
    ("--install-option", Opt::InstallOption),
    ("--hash", Opt::Hash),
    ("-C", Opt::ConfigSettings),
    ("--config-settings", Opt::ConfigSettings),
];

/// optparse's long-option lookup: an exact name, or an unambiguous prefix of one.
fn match_long(name: &str) -> Result<(&'static str, Opt), String> {
    if let Some(&found) = OPTIONS.iter().find(|(spelling, _)| *spelling == name) {
        return Ok(found);
    }
    let candidates: Vec<&(&str, Opt)> =
        OPTIONS.iter().filter(|(spelling, _)| spelling.starts_with("--") && spelling.starts_with(name)).collect();
    match candidates.as_slice() {
        [found] => Ok(**found),
        [] => Err(format!("no such option: {name}")),
        many => {
            let names: Vec<&str> = many.iter().map(|(spelling, _)| *spelling).collect();
            Err(format!("ambiguous option: {name} ({}?)", names.join(", ")))
        }
    }
}

/// The options of one logical line that matter to hashlock.
#[derive(Debug, Default)]
struct LineOptions {
    /// `-r` / `-c` targets with the offset of their option.
    requirements: Vec<(String, usize)>,
    constraints: Vec<(String, usize)>,
    editables: Vec<String>,
    hashes: Vec<Hash>,
    require_hashes: bool,
    /// Options that change what pip fetches or builds.
    options: Vec<FileOption>,
}

impl LineOptions {
    /// optparse over the shell words: `--name=value`, `--name value`, `-xvalue`, `-x value`;
    /// `--` ends the options and other words are ignored, as pip does.
    fn parse(tokens: &[Token], at: &dyn Fn(usize) -> Location) -> Result<Self, ReqFileError> {
        let mut opts = Self::default();
        let mut words = tokens.iter();
        while let Some(token) = words.next() {
            let word = token.text.as_str();
            let error = |message: String| syntax(at(token.offset), message);
            let (opt, spelling, inline) = if word == "--" {
                break;
            } else if word.starts_with("--") {
                let (name, inline) = match word.split_once('=') {
                    Some((name, value)) => (name, Some(value)),
                    None => (word, None),
                };
                let (spelling, opt) = match_long(name).map_err(error)?;
                if !opt.takes_value() && inline.is_some() {
                    return Err(error(format!("{spelling} option does not take a value")));
                }
                (opt, spelling, inline)
            } else if let Some(short) = word.strip_prefix('-').and_then(|rest| rest.chars().next()) {
                let name = &word[..1 + short.len_utf8()];
                let &(spelling, opt) = OPTIONS
                    .iter()
                    .find(|(spelling, _)| *spelling == name)
                    .ok_or_else(|| error(format!("no such option: {name}")))?;
                let rest = &word[name.len()..];
                (opt, spelling, (!rest.is_empty()).then_some(rest))
            } else {
                continue;
            };
            let value = match (opt.takes_value(), inline) {
                (false, _) => String::new(),
                (true, Some(value)) => value.to_string(),
                (true, None) => match words.next() {
                    Some(next) => next.text.clone(),
                    None => return Err(error(format!("{spelling} option requires 1 argument"))),
                },
            };
            opts.apply(opt, value, token.offset, at)?;
        }
        Ok(opts)
    }

    fn apply(
        &mut self,
        opt: Opt,
        value: String,
        offset: usize,
        at: &dyn Fn(usize) -> Location,
    ) -> Result<(), ReqFileError> {
        match opt {
            Opt::Requirement => self.requirements.push((value, offset)),
            Opt::Constraint => self.constraints.push((value, offset)),
            Opt::Editable => self.editables.push(value),
            Opt::Hash => self.hashes.push(parse_hash(&value, at(offset))?),
            Opt::RequireHashes => self.require_hashes = true,
            // pip's `handle_mutual_excludes` refuses these values.
            Opt::NoBinary | Opt::OnlyBinary if value.starts_with('-') => {
                return Err(syntax(at(offset), format!("{} option requires 1 argument", opt.name())));
            }
            _ => self.options.push(FileOption { opt, value, location: at(offset) }),
        }
        Ok(())
    }
}

/// `--hash=alg:hex`. pip needs the `:`; the digest must be hex. Weak algorithms (which pip
/// rejects) are kept so that audit can explain them.
fn parse_hash(value: &str, location: Location) -> Result<Hash, ReqFileError> {
    let Some((algorithm, hex)) = value.split_once(':').filter(|(algorithm, _)| !algorithm.is_empty()) else {
        let message = format!("--hash={value}: must be a hash name followed by a value, like --hash=sha256:abcde…");
        return Err(syntax(location, message));
    };
    if !algorithm.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        return Err(syntax(location, format!("--hash={value}: `{algorithm}` is not a hash name")));
    }
    if hex.is_empty() || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(syntax(location, format!("--hash={value}: the digest must be hexadecimal")));
    }
    Ok(Hash { algorithm: algorithm.to_ascii_lowercase(), hex: hex.to_ascii_lowercase(), location })
}

/// A requirement by name, or (as pip decides before trying PEP 508) a URL, VCS or local path.
fn classify(text: &str) -> Result<EntryKind, String> {
    let before_marker = text.split(';').next().unwrap_or(text);
    // `name @ url`: only a URL requirement has an `@` before its marker. (pip parses these as
    // PEP 508 too; to hashlock every URL requirement is alike.)
    if is_url(text) || looks_like_path(before_marker) || before_marker.contains('@') {
        return Ok(EntryKind::Url(text.to_string()));
    }
    let requirement = crate::requirement::parse(text)
        .map_err(|message| format!("invalid requirement `{}`: {message}", redact_text(text)))?;
    Ok(EntryKind::Named(requirement))
}

/// pip's `is_url`: a scheme pip downloads from, or a VCS scheme (`git+https:`, `hg+ssh:`, ...).
fn is_url(text: &str) -> bool {
    let Some((scheme, _)) = text.split_once(':') else { return false };
    let scheme = scheme.to_ascii_lowercase();
    ["http", "https", "file", "ftp"].contains(&scheme.as_str())
        || ["git", "hg", "svn", "bzr"]
            .iter()
            .any(|vcs| scheme.strip_prefix(vcs).is_some_and(|rest| rest.is_empty() || rest.starts_with('+')))
}

/// pip's `_looks_like_path` and `is_archive_file`, on the text before the marker and without
/// `[extras]`.
fn looks_like_path(text: &str) -> bool {
    const ARCHIVES: &[&str] = &[
        ".whl",
        ".zip",
        ".tar.gz",
        ".tgz",
        ".tar",
        ".tar.bz2",
        ".tbz",
        ".tar.xz",
        ".txz",
        ".tlz",
        ".tar.lz",
        ".tar.lzma",
    ];
    let base = text.trim();
    let base = match (base.ends_with(']'), base.rfind('[')) {
        (true, Some(open)) => &base[..open],
        _ => base,
    };
    let lower = base.to_ascii_lowercase();
    base.contains(['/', '\\']) || base.starts_with('.') || ARCHIVES.iter().any(|ext| lower.ends_with(ext))
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;
    use pep508_rs::VersionOrUrl;
    use pep508_rs::pep440_rs::{Operator, Version};
    use proptest::prelude::*;

    fn parse(text: &str) -> Result<RequirementsFile, ReqFileError> {
        parse_with_env(text, Path::new("req.txt"), &|_| None)
    }

    fn named(entry: &Entry) -> String {
        match &entry.kind {
            EntryKind::Named(requirement) => requirement.to_string(),
            other => panic!("expected a named requirement, got {other:?}"),
        }
    }

    fn lines(hashes: &[Hash]) -> Vec<usize> {
        hashes.iter().map(|h| h.location.line).collect()
    }

    fn error_text(text: &str) -> String {
        parse(text).expect_err("the file should be rejected").to_string()
    }

    #[test]
    fn continuation_lines_and_comments() {
        let text = "# header\nfoo==1.0 \\\n    --hash=SHA256:AB12 \\\n    --hash sha256:cd34  # trailing\nbar>=2 # inline\n\n\
                    baz==3 --hash=sha256:01 --hash=sha512:02\nurl-frag @ https://files.example/x.whl#sha256=00\n";
        let file = parse(text).unwrap();
        assert_eq!(file.entries.len(), 4);
        let foo = &file.entries[0];
        assert_eq!(named(foo), "foo==1.0");
        assert_eq!(foo.location, Location { file: PathBuf::from("req.txt"), line: 2 });
        assert_eq!(
            foo.hashes.iter().map(|h| (h.algorithm.as_str(), h.hex.as_str())).collect::<Vec<_>>(),
            [("sha256", "ab12"), ("sha256", "cd34")]
        );
        assert_eq!(lines(&foo.hashes), [3, 4]);
        assert_eq!(named(&file.entries[1]), "bar>=2");
        assert_eq!(file.entries[1].location.line, 5);
        assert_eq!(lines(&file.entries[2].hashes), [7, 7]);
        // `#` without whitespace before it is not a comment: the URL keeps its fragment.
        assert_eq!(file.entries[3].kind, EntryKind::Url("url-frag @ https://files.example/x.whl#sha256=00".into()));
        assert!(file.orphaned_hashes.is_empty());
    }

    #[test]
    fn comment_line_cuts_off_the_following_hashes() {
        // A comment line ends the continuation even when it ends with a backslash.
        let text = "foo==1.0 \\\n    --hash=sha256:aa \\\n    # via bar \\\n    --hash=sha256:bb \\\n    --hash=sha256:cc\nnext==2\n";
        let file = parse(text).unwrap();
        assert_eq!(file.entries.len(), 2);
        assert_eq!(file.entries[0].hashes.iter().map(|h| h.hex.as_str()).collect::<Vec<_>>(), ["aa"]);
        let orphans: Vec<(&str, usize)> =
            file.orphaned_hashes.iter().map(|o| (o.hash.hex.as_str(), o.hash.location.line)).collect();
        assert_eq!(orphans, [("bb", 4), ("cc", 5)]);
        assert_eq!(file.entries[1].location.line, 6);
    }

    #[test]
    fn blank_line_ends_a_continuation() {
        let file = parse("foo==1.0 \\\n\n    --hash=sha256:aa\n").unwrap();
        assert!(file.entries[0].hashes.is_empty());
        assert_eq!(file.orphaned_hashes.len(), 1);
        assert_eq!(file.orphaned_hashes[0].hash.location.line, 3);
    }

    #[test]
    fn bad_hash_values_are_errors_at_their_line() {
        let message = error_text("foo==1 \\\n  --hash=sha256\n");
        assert!(message.starts_with("req.txt:2: "), "{message}");
        assert!(message.contains("hash name followed by a value"), "{message}");
        assert!(error_text("foo==1 --hash=sha256:xyz").contains("hexadecimal"));
        assert!(error_text("foo==1 --hash=sha256:").contains("hexadecimal"));
        assert!(error_text("foo==1 --hash=:ab").contains("hash name followed by a value"));
        assert!(error_text("foo==1 --hash").contains("--hash option requires 1 argument"));
        // Weak algorithms parse: audit reports them.
        assert_eq!(parse("foo==1 --hash=md5:AB").unwrap().entries[0].hashes[0].algorithm, "md5");
    }

    #[test]
    fn unknown_or_ambiguous_option_names_file_and_line() {
        assert_eq!(error_text("foo==1\nbar==2 \\\n  --frobnicate x\n"), "req.txt:3: no such option: --frobnicate");
        assert_eq!(error_text("-x foo"), "req.txt:1: no such option: -x");
        assert!(error_text("--re x").starts_with("req.txt:1: ambiguous option: --re ("));
        assert_eq!(error_text("--pre=yes"), "req.txt:1: --pre option does not take a value");
        // optparse accepts an unambiguous prefix, and `-xVALUE`.
        let file = parse("--extra-index https://a.example/simple\n-ihttps://b.example/simple\n").unwrap();
        assert_eq!(file.extra_index_urls, ["https://a.example/simple"]);
        assert_eq!(file.index_url.as_deref(), Some("https://b.example/simple"));
        assert_eq!(error_text("foo==1 --hash='sha256:ab"), "req.txt:1: cannot split options: no closing quotation");
    }

    /// `(option, value, line)` of each recorded option.
    fn options(options: &[FileOption]) -> Vec<(&'static str, &str, usize)> {
        options.iter().map(|o| (o.opt.name(), o.value.as_str(), o.location.line)).collect()
    }

    #[test]
    fn options_that_change_what_pip_fetches_or_builds_are_kept_with_their_line() {
        let text = "--trusted-host index.example\n--prefer-binary\n--only-binary :all:\n--no-binary foo\n\
                    --use-feature truststore\n--no-index\n-f./wheels\n--find ./links --pre\n-i https://a.example/s\n\
                    foo==1 --global-option=x --config-settings k=v \\\n  -C a=b --install-option=y --hash=sha256:ab\n\
                    --require-hashes\n-r /dev/null --extra-index-url https://ignored.example/s\n";
        let file = parse(text).unwrap();
        assert_eq!(
            options(&file.options),
            [
                ("--trusted-host", "index.example", 1),
                ("--prefer-binary", "", 2),
                ("--only-binary", ":all:", 3),
                ("--no-binary", "foo", 4),
                ("--use-feature", "truststore", 5),
                ("--no-index", "", 6),
                ("--find-links", "./wheels", 7),
                ("--find-links", "./links", 8),
                ("--pre", "", 8),
                ("--index-url", "https://a.example/s", 9),
            ]
        );
        assert_eq!(file.entries.len(), 1);
        assert_eq!(
            options(&file.entries[0].options),
            [
                ("--global-option", "x", 10),
                ("--config-settings", "k=v", 10),
                ("--config-settings", "a=b", 11),
                ("--install-option", "y", 11)
            ]
        );
        assert!(error_text("--no-binary --pre").contains("--no-binary option requires 1 argument"));
    }

    #[test]
    fn no_binary_and_only_binary_combine_as_in_pip() {
        let allowed = |text: &str, name: &str| {
            let formats = parse(text).unwrap().format_control.allowed(&PackageName::from_str(name).unwrap());
            (formats.wheel, formats.sdist)
        };
        assert_eq!(allowed("", "foo"), (true, true));
        assert_eq!(allowed("--no-binary Foo_Bar", "foo-bar"), (false, true));
        assert_eq!(allowed("--no-binary :all:", "foo"), (false, true));
        assert_eq!(allowed("--only-binary :all:", "foo"), (true, false));
        // A name beats `:all:`, and a later option moves a name from one set to the other.
        assert_eq!(allowed("--only-binary :all:\n--no-binary foo", "foo"), (false, true));
        assert_eq!(allowed("--no-binary foo,bar\n--only-binary bar", "bar"), (true, false));
        assert_eq!(allowed("--no-binary foo,bar\n--only-binary bar", "foo"), (false, true));
        assert_eq!(allowed("--no-binary :all:\n--only-binary :all:", "foo"), (true, false));
        assert_eq!(allowed("--no-binary :all:,:none:,foo", "bar"), (true, true));
        assert_eq!(allowed("--no-binary :all:,:none:,foo", "foo"), (false, true));
        // pip applies them on requirement lines too (in optparse callbacks).
        assert_eq!(allowed("foo==1 --no-binary foo", "foo"), (false, true));
        assert_eq!(options(&parse("foo==1 --no-binary foo").unwrap().options), [("--no-binary", "foo", 1)]);
    }

    #[test]
    fn every_line_break_of_python_splitlines_starts_a_line() {
        // A marker with a form feed in it is a requirement plus an option line to pip.
        for c in ['\n', '\r', '\x0b', '\x0c', '\x1c', '\x1d', '\x1e', '\u{85}', '\u{2028}', '\u{2029}'] {
            let text = format!("foo==1 ; python_version > '3' {c}--extra-index-url https://evil.example/s\nbar==2\n");
            let file = parse(&text).unwrap();
            assert_eq!(options(&file.options), [("--extra-index-url", "https://evil.example/s", 2)], "{c:?}");
            let lines: Vec<usize> = file.entries.iter().map(|e| e.location.line).collect();
            assert_eq!(lines, [1, 3], "{c:?}");
        }
        // `\r\n` is one break; `\x1f` and `\t` are spaces, not breaks.
        let file = parse("foo==1\r\n--pre\x1f\n\tbar==2\t\n").unwrap();
        assert_eq!((file.entries[1].location.line, options(&file.options)), (3, vec![("--pre", "", 2)]));
        // A continuation joins across any of them; a `#` after whitespace starts a comment, one
        // inside a word does not.
        let file =
            parse("foo==1 \\\x0c--hash=sha256:ab # c --pre\nu @ https://h.example/u.whl#sha256=00\u{2028}#--pre\n")
                .unwrap();
        assert_eq!(file.entries[0].hashes.len(), 1);
        assert!(file.options.is_empty(), "{:?}", file.options);
        assert_eq!(file.entries[1].kind, EntryKind::Url("u @ https://h.example/u.whl#sha256=00".into()));
    }

    #[test]
    fn malformed_requirement_is_a_one_line_error() {
        let message = error_text("ok==1\nbar>=>1\n");
        assert!(message.starts_with("req.txt:2: invalid requirement `bar>=>1`: "), "{message}");
        assert!(!message.contains('\n'), "{message}");
        // Names pep508_rs would panic on are errors too.
        assert_eq!(
            error_text("foo- ==1"),
            "req.txt:1: invalid requirement `foo- ==1`: package name `foo-` must end with a letter or digit"
        );
        assert!(error_text("foo[a_ ,b]").contains("extra name `a_` must end with a letter or digit"));
        assert_eq!(named(&parse("foo-bar[a.b, c]>=1").unwrap().entries[0]), "foo-bar[a-b,c]>=1");
    }

    #[test]
    fn editable_url_vcs_and_path_kinds() {
        let text = "-e ./pkg\n--editable=git+https://git.example/x.git#egg=x\ngit+https://git.example/y.git@v1#egg=y\n\
                    https://files.example/z-1.0-py3-none-any.whl\n./local\n/abs/dir\nz-1.0-py3-none-any.whl\n.\n\
                    name @ https://files.example/n-1.0.tar.gz\nnamed[extra]>=1 ; python_version >= '3.8'\n";
        let kinds: Vec<EntryKind> = parse(text).unwrap().entries.into_iter().map(|e| e.kind).collect();
        let url = |s: &str| EntryKind::Url(s.to_string());
        assert_eq!(
            kinds[..9],
            [
                EntryKind::Editable("./pkg".into()),
                EntryKind::Editable("git+https://git.example/x.git#egg=x".into()),
                url("git+https://git.example/y.git@v1#egg=y"),
                url("https://files.example/z-1.0-py3-none-any.whl"),
                url("./local"),
                url("/abs/dir"),
                url("z-1.0-py3-none-any.whl"),
                url("."),
                url("name @ https://files.example/n-1.0.tar.gz"),
            ]
        );
        let EntryKind::Named(requirement) = &kinds[9] else { panic!("{:?}", kinds[9]) };
        assert_eq!(requirement.name.as_ref(), "named");
        assert_eq!(requirement.extras.len(), 1);
    }

    #[test]
    fn env_variables_expand_like_pip() {
        let env = |name: &str| match name {
            "TOKEN" => Some("s3cret".to_string()),
            "EMPTY" => Some(String::new()),
            _ => None,
        };
        let text = "--index-url https://u:${TOKEN}@index.example/simple\n\
                    --extra-index-url https://${EMPTY}${MISSING}${token}.example/simple\nfoo==1 \\\n  --hash=sha256:${TOKEN}\n";
        let result = parse_with_env(text, Path::new("req.txt"), &env);
        // The expanded value is not hex: the error points at the physical line of `${TOKEN}`,
        // and shows the line as written, not the secret.
        assert_eq!(
            result.unwrap_err().to_string(),
            "req.txt:4: --hash=sha256:${TOKEN}: the digest must be hexadecimal"
        );
        let file = parse_with_env(&text.replace("sha256:${TOKEN}", "sha256:ab"), Path::new("req.txt"), &env).unwrap();
        assert_eq!(file.index_url.as_deref(), Some("https://u:s3cret@index.example/simple"));
        assert_eq!(file.extra_index_urls, ["https://${EMPTY}${MISSING}${token}.example/simple"]);
        assert_eq!(file.as_written("u:s3cret, S3CRET, s3cre"), "u:${TOKEN}, ${TOKEN}, s3cre");
        let short = parse_with_env("foo==1\n--pre ${ONE}\n", Path::new("req.txt"), &|_| Some("1".into())).unwrap();
        assert_eq!(short.as_written("foo 1.0"), "foo 1.0", "too short to be a secret");
        let message = parse_with_env("-r https://ci:${TOKEN}@index.example/r.txt\n", Path::new("req.txt"), &env)
            .unwrap_err()
            .to_string();
        assert_eq!(
            message,
            "req.txt:1: https://***@index.example/r.txt: requirements files over URLs are not supported"
        );
    }

    #[test]
    fn global_options_are_captured_from_option_lines_only() {
        let text = "--pre\n--require-hashes\n-i https://a.example/simple\n--index-url=https://b.example/simple\n\
                    --extra-index-url https://c.example/simple --extra-index-url https://d.example/simple\nfoo==1\n";
        let file = parse(text).unwrap();
        assert!(file.pre && file.require_hashes);
        assert_eq!(file.index_url.as_deref(), Some("https://b.example/simple"));
        assert_eq!(file.extra_index_urls, ["https://c.example/simple", "https://d.example/simple"]);
        // pip ignores global options written on a requirement line.
        let file = parse("foo==1 --pre --index-url https://a.example/simple\n").unwrap();
        assert!(!file.pre);
        assert_eq!(file.index_url, None);
        assert_eq!(parse("").unwrap(), RequirementsFile::default());
    }

    #[test]
    fn nested_includes_are_relative_to_the_including_file() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| {
            let path = dir.path().join(name);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        };
        write("outer.txt", "-r sub/inner.txt\n--constraint=sub/cons.txt\nz==1\n");
        write("sub/inner.txt", "# inner\na==1\n-r ../common.txt\n");
        write("common.txt", "b==2\n--pre\n");
        write("sub/cons.txt", "c<3\n");
        let file = parse_file(&dir.path().join("outer.txt")).unwrap();
        let seen: Vec<(String, PathBuf, usize, bool)> = file
            .entries
            .iter()
            .map(|e| {
                (
                    named(e),
                    e.location.file.strip_prefix(dir.path()).unwrap().to_path_buf(),
                    e.location.line,
                    e.constraint,
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                ("a==1".to_string(), PathBuf::from("sub/inner.txt"), 2, false),
                ("b==2".to_string(), PathBuf::from("sub/../common.txt"), 1, false),
                ("c<3".to_string(), PathBuf::from("sub/cons.txt"), 1, true),
                ("z==1".to_string(), PathBuf::from("outer.txt"), 3, false),
            ]
        );
        assert!(file.pre, "options of included files count");

        // Including one file twice without a cycle is fine.
        write("diamond.txt", "-r common.txt\n-r common.txt\n");
        assert_eq!(parse_file(&dir.path().join("diamond.txt")).unwrap().entries.len(), 2);

        write("missing.txt", "x==1\n-r nope.txt\n");
        let message = parse_file(&dir.path().join("missing.txt")).unwrap_err().to_string();
        assert!(message.contains("nope.txt (included from ") && message.contains("missing.txt:2)"), "{message}");
    }

    #[test]
    fn include_cycle_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a.txt"), "x==1\n-r b.txt\n").unwrap();
        fs::write(dir.path().join("b.txt"), "y==1\n\n-c ./a.txt\n").unwrap();
        let error = parse_file(&dir.path().join("a.txt")).unwrap_err();
        let ReqFileError::Syntax { location, message } = &error else { panic!("{error}") };
        assert_eq!((location.file.file_name().unwrap().to_str(), location.line), (Some("b.txt"), 3));
        assert!(message.starts_with("include cycle: ") && message.ends_with("./a.txt"), "{message}");
        fs::write(dir.path().join("self.txt"), "-r self.txt\n").unwrap();
        assert!(parse_file(&dir.path().join("self.txt")).unwrap_err().to_string().contains("include cycle"));
    }

    #[test]
    fn read_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("absent.txt");
        let error = parse_file(&missing).unwrap_err();
        assert!(matches!(&error, ReqFileError::Read { path, .. } if path == &missing.display().to_string()), "{error}");
        let latin1 = dir.path().join("latin1.txt");
        fs::write(&latin1, b"\xef\xbb\xbfok==1\n# caf\xe9\n").unwrap();
        let message = parse_file(&latin1).unwrap_err().to_string();
        assert_eq!(message, format!("{}:2: not valid UTF-8 text", latin1.display()));
        assert!(parse("-r https://index.example/req.txt").unwrap_err().to_string().contains("over URLs"));
    }

    #[test]
    fn windows_line_endings_and_bom() {
        let file = parse("\u{feff}foo==1 \\\r\n  --hash=sha256:aa\r\nbar==2\r\n").unwrap();
        assert_eq!(named(&file.entries[0]), "foo==1");
        assert_eq!(lines(&file.entries[0].hashes), [2]);
        assert_eq!(file.entries[1].location.line, 3);
    }

    /// Pieces of requirements-file syntax, so that random files exercise the parser's paths.
    fn fragment() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![
            "foo",
            "==1.0",
            " ",
            "  ",
            "\t",
            "\n",
            "\r\n",
            "\\",
            " \\\n",
            "#",
            " # c",
            "--hash=sha256:ab",
            "--hash",
            "=",
            ":",
            "sha256",
            "-e",
            "-r",
            "-c",
            "-i",
            "--pre",
            "--",
            "-",
            "'",
            "\"",
            "${X}",
            "${",
            "}",
            ";",
            " ; python_version < '3'",
            "@",
            "[",
            "]",
            "git+https:",
            ".",
            "é",
            "\u{2028}",
            "\u{feff}",
            "-C",
            "python_version",
            "extra",
            "<",
            ">=",
            "~=",
            "!=",
            "===",
            "*",
            ",",
            "(",
            ")",
            " and ",
            " or ",
            "'3'",
            "\u{2003}",
            "_",
            "-",
            "1",
            "a",
        ])
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(
            text in prop_oneof![any::<String>(), prop::collection::vec(fragment(), 0..40).prop_map(|f| f.concat())]
        ) {
            let _ = parse_with_env(&text, Path::new("/nonexistent-hashlock-dir/req.txt"), &|_| Some("1".into()));
        }

        /// pep508_rs 0.9 panics on some invalid requirements; `classify` must turn them into errors.
        #[test]
        fn requirement_text_never_panics(tail in prop::collection::vec(fragment(), 0..20).prop_map(|f| f.concat())) {
            for prefix in ["", "foo", "foo[a", "foo ; python_version "] {
                let _ = classify(&format!("{prefix}{tail}"));
            }
        }

        #[test]
        fn hashlock_output_parses_back(
            packages in prop::collection::vec(
                ("[a-z][a-z0-9]{0,10}", "[0-9]{1,3}(\\.[0-9]{1,3}){0,3}", prop::collection::vec(any::<[u8; 32]>(), 1..4)),
                1..8,
            )
        ) {
            let mut text = String::from("# This file was generated by hashlock\n#\n");
            let mut line = 2;
            let mut expected = Vec::new();
            for (name, version, digests) in &packages {
                line += 1;
                text.push_str(&format!("{name}=={version} \\\n"));
                let first = line;
                let mut hashes = Vec::new();
                for (i, digest) in digests.iter().enumerate() {
                    line += 1;
                    let continuation = if i + 1 < digests.len() { " \\" } else { "" };
                    text.push_str(&format!("    --hash=sha256:{}{continuation}\n", hex(digest)));
                    hashes.push((hex(digest), line));
                }
                line += 1;
                text.push_str("    # via x\n");
                expected.push((name, version, first, hashes));
            }
            let file = parse(&text).unwrap();
            prop_assert!(file.orphaned_hashes.is_empty());
            prop_assert_eq!(file.entries.len(), expected.len());
            for (entry, (name, version, first, hashes)) in file.entries.iter().zip(&expected) {
                let EntryKind::Named(requirement) = &entry.kind else { panic!("{:?}", entry.kind) };
                prop_assert_eq!(requirement.name.as_ref(), name.as_str());
                let Some(VersionOrUrl::VersionSpecifier(specifiers)) = &requirement.version_or_url else {
                    panic!("{requirement}")
                };
                let pinned: Vec<(Operator, Version)> =
                    specifiers.iter().map(|s| (*s.operator(), s.version().clone())).collect();
                prop_assert_eq!(pinned, vec![(Operator::Equal, Version::from_str(version).unwrap())]);
                prop_assert_eq!(entry.location.line, *first);
                let got: Vec<(String, usize)> =
                    entry.hashes.iter().map(|h| (h.hex.clone(), h.location.line)).collect();
                prop_assert_eq!(&got, hashes);
                prop_assert!(entry.hashes.iter().all(|h| h.algorithm == "sha256"));
            }
        }
    }
}
