//! Reader for PEP 751 `pylock.toml` (lock-version 1.x).
//!
//! A pylock marker may test what the installer was asked for (`'dev' in dependency_groups`,
//! `'cli' in extras`), which a PEP 508 marker cannot hold: those tests become the package's
//! groups and the rest its marker ([`split_marker`]).
//!
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::Path;

use pep508_rs::MarkerTree;
use serde::Deserialize;
use toml::Spanned;

use crate::check::findings::Finding;
use crate::index::provenance::Publisher;
use crate::lockfile::reader::{LockText, as_text, file_name, note_index, parse_marker, unhashable, without_extras};
use crate::lockfile::{Artifact, Location, LockFormat, Lockfile, LockfileError, Package, Selector};

/// Read first, on its own, so that a lock of another version is refused for its version and
/// not for whatever else it changed.
#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Header {
    lock_version: Option<Spanned<toml::Value>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Document {
    requires_python: Option<String>,
    environments: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    default_groups: Vec<String>,
    #[serde(default)]
    packages: Vec<Spanned<PackageTable>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct PackageTable {
    name: Spanned<String>,
    version: Option<Spanned<String>>,
    marker: Option<Spanned<String>>,
    index: Option<String>,
    dependencies: Option<Vec<DependencyTable>>,
    vcs: Option<VcsTable>,
    directory: Option<DirectoryTable>,
    archive: Option<Spanned<FileTable>>,
    sdist: Option<Spanned<FileTable>>,
    #[serde(default)]
    wheels: Vec<Spanned<FileTable>>,
    #[serde(default)]
    attestation_identities: Vec<Spanned<toml::Table>>,
}

#[derive(Deserialize)]
struct DependencyTable {
    name: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct VcsTable {
    r#type: Option<String>,
    url: Option<String>,
    path: Option<String>,
    commit_id: Option<String>,
}

#[derive(Deserialize)]
struct DirectoryTable {
    path: Option<String>,
    #[serde(default)]
    editable: bool,
}

/// An sdist, a wheel or an archive.
#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct FileTable {
    name: Option<String>,
    url: Option<String>,
    path: Option<String>,
    size: Option<u64>,
    upload_time: Option<toml::Value>,
    #[serde(default)]
    hashes: BTreeMap<Spanned<String>, Spanned<String>>,
}

pub fn parse(text: &str, path: &Path) -> Result<Lockfile, LockfileError> {
    let file = LockText::new(text, path, LockFormat::Pylock);
    let Some(lock_version) = file.toml::<Header>()?.lock_version else {
        return Err(file.not_this_format("no lock-version"));
    };
    file.check_format_version(&lock_version, "lock-version", "pylock lock-version 1.x", |version| {
        let toml::Value::String(text) = version else { return false };
        let mut parts = text.split('.');
        parts.next() == Some("1") && parts.all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
    })?;
    let document: Document = file.toml()?;
    let mut lockfile = Lockfile::new(path, LockFormat::Pylock);
    lockfile.universal =
        document.environments.is_some() || document.packages.iter().any(|table| table.get_ref().marker.is_some());
    lockfile.requires_python = document.requires_python;
    for environment in document.environments.iter().flatten() {
        lockfile.environments.push(file.marker(environment.get_ref(), environment.span().start)?);
    }
    let default_groups: BTreeSet<Selector> = document.default_groups.iter().map(|name| Selector::group(name)).collect();
    for table in document.packages {
        let location = file.location(table.span().start);
        let package = read_package(&file, table.into_inner(), location, &default_groups, &mut lockfile.findings)?;
        if let Some(index) = &package.index {
            note_index(&mut lockfile.indexes, index);
        }
        lockfile.packages.push(package);
    }
    Ok(lockfile)
}

fn read_package(
    file: &LockText,
    table: PackageTable,
    location: Location,
    default_groups: &BTreeSet<Selector>,
    findings: &mut Vec<Finding>,
) -> Result<Package, LockfileError> {
    let name = file.name(table.name.get_ref(), table.name.span().start)?;
    let version =
        table.version.as_ref().map(|version| file.version(version.get_ref(), version.span().start)).transpose()?;
    let split = match &table.marker {
        Some(marker) => split_marker(marker.get_ref(), default_groups)
            .map_err(|error| file.invalid_marker(marker.get_ref(), marker.span().start, &error))?,
        None => SplitMarker { marker: MarkerTree::TRUE, groups: BTreeSet::new() },
    };
    // An entry without a name (PEP 751 asks only for enough keys to tell the package) names
    // nothing the model can hold.
    let dependencies = table
        .dependencies
        .map(|dependencies| {
            let names = dependencies.iter().filter_map(|d| d.name.as_ref());
            names.map(|name| file.name(name.get_ref(), name.span().start)).collect()
        })
        .transpose()?;
    let mut artifacts: Vec<Artifact> =
        table.sdist.iter().chain(&table.wheels).map(|spanned| artifact(file, spanned)).collect::<Result<_, _>>()?;
    let non_index_source = if let Some(vcs) = &table.vcs {
        let mut source = format!(
            "vcs {}+{}",
            vcs.r#type.as_deref().unwrap_or("vcs"),
            vcs.url.as_deref().or(vcs.path.as_deref()).unwrap_or_default()
        );
        if let Some(commit) = &vcs.commit_id {
            source.push_str(&format!("@{commit}"));
        }
        Some(source)
    } else if let Some(directory) = &table.directory {
        let editable = if directory.editable { " (editable)" } else { "" };
        Some(format!("directory {}{editable}", directory.path.as_deref().unwrap_or_default()))
    } else if let Some(archive) = &table.archive {
        let archive = artifact(file, archive)?;
        let source = format!("archive {}", archive.url.as_deref().unwrap_or_default());
        artifacts.push(archive);
        Some(source)
    } else {
        None
    };
    let attestation_identities = table
        .attestation_identities
        .iter()
        .map(|identity| attestation_identity(file, identity))
        .collect::<Result<_, _>>()?;
    let package = Package {
        name,
        version,
        marker: split.marker,
        extras: Vec::new(),
        index: table.index,
        artifacts,
        dependencies,
        groups: split.groups,
        non_index_source,
        attestation_identities,
        location,
    };
    // A directory is the user's own tree (`uv export` writes the project so); a VCS checkout or
    // an archive is code from elsewhere.
    let local_tree = table.vcs.is_none() && table.directory.is_some();
    findings.extend(unhashable(&package, local_tree));
    Ok(package)
}

/// An `[[packages.attestation-identities]]` table: a `kind` and the publisher's keys (PEP 751),
/// as a publisher object of the kind a provenance object holds.
fn attestation_identity(file: &LockText, identity: &Spanned<toml::Table>) -> Result<Publisher, LockfileError> {
    let invalid = |message: &str| file.invalid(identity.span().start, format!("attestation identity: {message}"));
    let value = serde_json::to_value(identity.get_ref()).map_err(|e| invalid(&e.to_string()))?;
    match value.get("kind") {
        Some(serde_json::Value::String(_)) => serde_json::from_value(value).map_err(|e| invalid(&e.to_string())),
        _ => Err(invalid("no `kind` (a string) names the kind of publisher")),
    }
}

fn artifact(file: &LockText, spanned: &Spanned<FileTable>) -> Result<Artifact, LockfileError> {
    let table = spanned.get_ref();
    let mut hashes: Vec<_> = table.hashes.iter().collect();
    hashes.sort_by_key(|(algorithm, _)| algorithm.span().start);
    Ok(Artifact {
        filename: table.name.clone().or_else(|| file_name(table.url.as_deref(), table.path.as_deref())),
        url: table.url.clone().or_else(|| table.path.clone()),
        hashes: hashes
            .iter()
            .map(|(algorithm, hex)| file.hash_of(algorithm.get_ref(), hex.get_ref(), algorithm.span().start))
            .collect::<Result<_, _>>()?,
        size: table.size,
        upload_time: table.upload_time.as_ref().map(as_text),
        location: file.location(spanned.span().start),
    })
}

// --- markers that test extras and dependency groups --------------------------------------------

/// A pylock marker as the model holds it.
#[derive(Debug)]
struct SplitMarker {
    /// The environment part.
    marker: MarkerTree,
    /// The groups and extras of which one must be selected (empty: always installed).
    groups: BTreeSet<Selector>,
}

/// Splits `text` into its environment marker and its groups. Both are exact when the selection
/// tests and the environment tests are joined by a plain `and` (or the selection tests by `or`
/// among themselves); otherwise they are widened, never narrowed, so no package where the lock
/// installs it is left out:
/// - the marker is the text with every selection test taken as true, so it holds wherever some
///   selection would install the package;
/// - the groups are those of the `'X' in …` tests, unless the marker can hold with only
///   `default_groups` selected (then it is always installed: no groups). A `not in` test, or any
///   other test of `extras` or `dependency_groups`, counts as holding then.
fn split_marker(text: &str, default_groups: &BTreeSet<Selector>) -> Result<SplitMarker, String> {
    let mut parser = MarkerParser { tokens: tokenize(text)?, next: 0, text };
    let expression = parser.alternatives(0)?;
    if let Some(token) = parser.tokens.get(parser.next) {
        return Err(format!("unexpected `{}`", &text[token.span.clone()]));
    }
    let marker = without_extras(&expression.environment());
    if expression.holds_with(default_groups) {
        return Ok(SplitMarker { marker, groups: BTreeSet::new() });
    }
    let mut groups = BTreeSet::new();
    expression.selected(&mut groups);
    groups.retain(|group| !default_groups.contains(group));
    Ok(SplitMarker { marker, groups })
}

enum Expression {
    Any(Vec<Expression>),
    All(Vec<Expression>),
    /// `'NAME' in extras` or `'NAME' in dependency_groups`; `negated` for `not in`.
    Selection {
        selector: Selector,
        negated: bool,
    },
    /// Another test of `extras` or `dependency_groups`: what it selects is not known.
    OtherSelection,
    Environment(MarkerTree),
}

impl Expression {
    fn environment(&self) -> MarkerTree {
        match self {
            Self::Any(alternatives) => alternatives.iter().fold(MarkerTree::FALSE, |mut any, alternative| {
                any.or(alternative.environment());
                any
            }),
            Self::All(parts) => parts.iter().fold(MarkerTree::TRUE, |mut all, part| {
                all.and(part.environment());
                all
            }),
            Self::Selection { .. } | Self::OtherSelection => MarkerTree::TRUE,
            Self::Environment(marker) => marker.clone(),
        }
    }

    /// Whether it can hold in some environment when just `selected` are selected.
    fn holds_with(&self, selected: &BTreeSet<Selector>) -> bool {
        match self {
            Self::Any(alternatives) => alternatives.iter().any(|alternative| alternative.holds_with(selected)),
            Self::All(parts) => parts.iter().all(|part| part.holds_with(selected)),
            Self::Selection { selector, negated } => selected.contains(selector) != *negated,
            Self::OtherSelection => true,
            Self::Environment(marker) => !marker.is_false(),
        }
    }

    /// The selectors of its `in` tests.
    fn selected(&self, into: &mut BTreeSet<Selector>) {
        match self {
            Self::Any(children) | Self::All(children) => children.iter().for_each(|child| child.selected(into)),
            Self::Selection { selector, negated: false } => {
                into.insert(selector.clone());
            }
            Self::Selection { negated: true, .. } | Self::OtherSelection | Self::Environment(_) => {}
        }
    }
}

/// Deeper parentheses are refused rather than recursed into.
const MAX_NESTING: usize = 32;

#[derive(Clone, Copy, Debug, PartialEq)]
enum TokenKind {
    Open,
    Close,
    /// A variable, a keyword (`and`, `or`, `in`, `not`) or an unquoted value.
    Word,
    Quoted,
    /// Operator characters.
    Symbol,
}

#[derive(Debug)]
struct Token {
    kind: TokenKind,
    span: Range<usize>,
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        let kind = match c {
            c if c.is_whitespace() => continue,
            '(' => TokenKind::Open,
            ')' => TokenKind::Close,
            '\'' | '"' => {
                let closing = start + 1 + text[start + 1..].find(c).ok_or("a quoted string is not closed")?;
                while chars.next_if(|(at, _)| *at <= closing).is_some() {}
                TokenKind::Quoted
            }
            c if is_word_char(c) => {
                while chars.next_if(|(_, c)| is_word_char(*c)).is_some() {}
                TokenKind::Word
            }
            _ => {
                while chars.next_if(|(_, c)| matches!(c, '<' | '>' | '=' | '!' | '~')).is_some() {}
                TokenKind::Symbol
            }
        };
        let end = chars.peek().map_or(text.len(), |(at, _)| *at);
        tokens.push(Token { kind, span: start..end });
    }
    Ok(tokens)
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '.')
}

struct MarkerParser<'a> {
    text: &'a str,
    tokens: Vec<Token>,
    next: usize,
}

impl MarkerParser<'_> {
    fn word_is(&self, token: &Token, word: &str) -> bool {
        token.kind == TokenKind::Word && &self.text[token.span.clone()] == word
    }

    fn next_is_word(&self, word: &str) -> bool {
        self.tokens.get(self.next).is_some_and(|token| self.word_is(token, word))
    }

    /// `all ('or' all)*`
    fn alternatives(&mut self, depth: usize) -> Result<Expression, String> {
        self.joined(depth, "or", Self::all, Expression::Any)
    }

    /// `test ('and' test)*`
    fn all(&mut self, depth: usize) -> Result<Expression, String> {
        self.joined(depth, "and", Self::test, Expression::All)
    }

    /// `operand (keyword operand)*`; the operand itself when it stands alone.
    fn joined(
        &mut self,
        depth: usize,
        keyword: &str,
        operand: fn(&mut Self, usize) -> Result<Expression, String>,
        join: fn(Vec<Expression>) -> Expression,
    ) -> Result<Expression, String> {
        let mut operands = vec![operand(self, depth)?];
        while self.next_is_word(keyword) {
            self.next += 1;
            operands.push(operand(self, depth)?);
        }
        Ok(if operands.len() == 1 { operands.remove(0) } else { join(operands) })
    }

    /// `'(' alternatives ')'`, or one comparison.
    fn test(&mut self, depth: usize) -> Result<Expression, String> {
        if self.tokens.get(self.next).is_some_and(|token| token.kind == TokenKind::Open) {
            if depth == MAX_NESTING {
                return Err(format!("more than {MAX_NESTING} levels of parentheses"));
            }
            self.next += 1;
            let inner = self.alternatives(depth + 1)?;
            if !self.tokens.get(self.next).is_some_and(|token| token.kind == TokenKind::Close) {
                return Err("a parenthesis is not closed".to_string());
            }
            self.next += 1;
            return Ok(inner);
        }
        let start = self.next;
        while self.tokens.get(self.next).is_some_and(|token| {
            !matches!(token.kind, TokenKind::Open | TokenKind::Close)
                && !self.word_is(token, "and")
                && !self.word_is(token, "or")
        }) {
            self.next += 1;
        }
        let comparison = &self.tokens[start..self.next];
        let (Some(first), Some(last)) = (comparison.first(), comparison.last()) else {
            return Err("a comparison is missing".to_string());
        };
        self.comparison(comparison, &self.text[first.span.start..last.span.end])
    }

    fn comparison(&self, tokens: &[Token], text: &str) -> Result<Expression, String> {
        let variable = |token: &Token| match &self.text[token.span.clone()] {
            "extras" if token.kind == TokenKind::Word => Some(Selector::extra as fn(&str) -> Selector),
            "dependency_groups" if token.kind == TokenKind::Word => Some(Selector::group as fn(&str) -> Selector),
            _ => None,
        };
        if !tokens.iter().any(|token| variable(token).is_some()) {
            return Ok(Expression::Environment(parse_marker(text)?));
        }
        let negated = match tokens {
            [_, operator, _] if self.word_is(operator, "in") => false,
            [_, not, operator, _] if self.word_is(not, "not") && self.word_is(operator, "in") => true,
            _ => return Ok(Expression::OtherSelection),
        };
        let (Some(value), Some(selector)) = (tokens.first(), tokens.last().and_then(variable)) else {
            return Ok(Expression::OtherSelection);
        };
        if value.kind != TokenKind::Quoted {
            return Ok(Expression::OtherSelection);
        }
        let quoted = &self.text[value.span.clone()];
        Ok(Expression::Selection { selector: selector(&quoted[1..quoted.len() - 1]), negated })
    }
}

#[cfg(test)]
pub(super) mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::lockfile::reader::test_support::{fragment, summary};

    pub(in crate::lockfile) const SAMPLE: &str = r#"lock-version = "1.0"
environments = ["sys_platform == 'linux'", "sys_platform == 'win32'"]
requires-python = ">=3.10"
extras = ["socks"]
dependency-groups = ["default", "dev", "test"]
default-groups = ["default"]
created-by = "a locker"

[[packages]]
name = "click"
version = "8.1.7"
marker = "'default' in dependency_groups"
requires-python = ">=3.7"
index = "http://127.0.0.1:9/simple"
dependencies = [{ name = "colorama" }]
sdist = { url = "http://127.0.0.1:9/files/click-8.1.7.tar.gz", upload-time = 2023-08-17T17:29:11Z, size = 336121, hashes = { sha256 = "79bd720a93b05043b30d7c6a9f3e1baeb6fc540fcef9e767034fb79fe298fc2c" } }
wheels = [
    { name = "click-8.1.7-py3-none-any.whl", url = "http://127.0.0.1:9/files/click-8.1.7-py3-none-any.whl", upload-time = 2023-08-17T17:29:10Z, size = 97941, hashes = { sha256 = "1BC1974B76B6C44BB92CCD36E5BAC02712B835C17D4309E3F6F8CFB1594C35B5", MD5 = "0123456789ABCDEF0123456789ABCDEF" } },
]

[[packages]]
name = "colorama"
version = "0.4.6"
marker = "sys_platform == 'win32' and 'default' in dependency_groups"
index = "http://127.0.0.1:9/simple"
wheels = [
    { url = "http://127.0.0.1:9/files/colorama-0.4.6-py2.py3-none-any.whl", size = 25335, hashes = { sha256 = "292d9104c3b56c179f4ef7da15ace71415913cca824b1c8cbd108adba63ee200" } },
]

[[packages]]
name = "pysocks"
version = "1.7.1"
marker = "'socks' in extras"
index = "http://127.0.0.1:9/simple"

[[packages.wheels]]
url = "http://127.0.0.1:9/files/PySocks-1.7.1-py3-none-any.whl"
upload-time = 2019-09-20T02:06:22Z

[packages.wheels.hashes]
sha256 = "f922ba8013b8c978a2bee1d933be1dba12f0e60646e2ff8664ee59cceb4c8b35"

[[packages]]
name = "devtool"
version = "1.0+cpu"
marker = "('dev' in dependency_groups or 'test' in dependency_groups) and python_version < '3.12'"
index = "http://127.0.0.1:9/cpu/simple"
wheels = [
    { url = "http://127.0.0.1:9/cpu/files/devtool-1.0%2Bcpu-py3-none-any.whl", hashes = { sha256 = "82d6cb87d3d90b68dfe38b83c87cc3da8ab26181fa676c1d491f71d410e95cab" } },
]

[[packages]]
name = "gitdep"
version = "0.3.0"
vcs = { type = "git", url = "http://127.0.0.1:9/git/gitdep.git", requested-revision = "v0.3", commit-id = "0123abcd0123abcd0123abcd0123abcd0123abcd" }

[[packages]]
name = "localdir"
directory = { path = "./vendored/localdir", editable = true }

[[packages]]
name = "archived"
version = "2.0"
archive = { url = "http://127.0.0.1:9/archives/archived-2.0.tar.gz", size = 1234, hashes = { sha256 = "46744ae5869a4c882a740ed9980d90b55db6d2742acf4e747eadf386079f4ada" } }

[[packages]]
name = "nofiles"
version = "1.0"
marker = "python_version >= '3.11'"
"#;

    fn read(text: &str) -> Result<Lockfile, LockfileError> {
        parse(text, Path::new("pylock.toml"))
    }

    #[test]
    fn a_universal_lock_reads_into_the_model() {
        insta::assert_snapshot!(summary(&read(SAMPLE).unwrap()), @r#"
            universal=true requires-python=>=3.10 indexes=["http://127.0.0.1:9/simple", "http://127.0.0.1:9/cpu/simple"]
            9: click 8.1.7 marker=[true] groups=[] extras=[] index=http://127.0.0.1:9/simple source=- dependencies=Some(["colorama"])
              16: click-8.1.7.tar.gz url=http://127.0.0.1:9/files/click-8.1.7.tar.gz size=Some(336121) upload-time=2023-08-17T17:29:11Z
                16: sha256:79bd720a93b0
              18: click-8.1.7-py3-none-any.whl url=http://127.0.0.1:9/files/click-8.1.7-py3-none-any.whl size=Some(97941) upload-time=2023-08-17T17:29:10Z
                18: sha256:1bc1974b76b6
                18: md5:0123456789ab
            21: colorama 0.4.6 marker=[sys_platform == 'win32'] groups=[] extras=[] index=http://127.0.0.1:9/simple source=- dependencies=None
              27: colorama-0.4.6-py2.py3-none-any.whl url=http://127.0.0.1:9/files/colorama-0.4.6-py2.py3-none-any.whl size=Some(25335) upload-time=-
                27: sha256:292d9104c3b5
            30: pysocks 1.7.1 marker=[true] groups=["extra:socks"] extras=[] index=http://127.0.0.1:9/simple source=- dependencies=None
              36: PySocks-1.7.1-py3-none-any.whl url=http://127.0.0.1:9/files/PySocks-1.7.1-py3-none-any.whl size=None upload-time=2019-09-20T02:06:22Z
                41: sha256:f922ba8013b8
            43: devtool 1.0+cpu marker=[python_full_version < '3.12'] groups=["group:dev", "group:test"] extras=[] index=http://127.0.0.1:9/cpu/simple source=- dependencies=None
              49: devtool-1.0+cpu-py3-none-any.whl url=http://127.0.0.1:9/cpu/files/devtool-1.0%2Bcpu-py3-none-any.whl size=None upload-time=-
                49: sha256:82d6cb87d3d9
            52: gitdep 0.3.0 marker=[true] groups=[] extras=[] index=- source=vcs git+http://127.0.0.1:9/git/gitdep.git@0123abcd0123abcd0123abcd0123abcd0123abcd dependencies=None
            57: localdir - marker=[true] groups=[] extras=[] index=- source=directory ./vendored/localdir (editable) dependencies=None
            61: archived 2.0 marker=[true] groups=[] extras=[] index=- source=archive http://127.0.0.1:9/archives/archived-2.0.tar.gz dependencies=None
              64: archived-2.0.tar.gz url=http://127.0.0.1:9/archives/archived-2.0.tar.gz size=Some(1234) upload-time=-
                64: sha256:46744ae5869a
            66: nofiles 1.0 marker=[python_full_version >= '3.11'] groups=[] extras=[] index=- source=- dependencies=None
            error unhashable pylock.toml:52: gitdep 0.3.0 comes from vcs git+http://127.0.0.1:9/git/gitdep.git@0123abcd0123abcd0123abcd0123abcd0123abcd: no index vouches for it, so its hashes cannot be checked
            info unhashable pylock.toml:57: localdir comes from directory ./vendored/localdir (editable): it is built from the local source tree, which no hash covers
            error unhashable pylock.toml:61: archived 2.0 comes from archive http://127.0.0.1:9/archives/archived-2.0.tar.gz: its recorded hashes pin it, but no index vouches for them, so hashlock cannot check them
            "#);
    }

    #[test]
    fn a_pip_lock_is_for_one_environment() {
        let text = "lock-version = \"1.0\"\ncreated-by = \"pip\"\n\n[[packages]]\nname = \"click\"\nversion = \"8.1.7\"\n\n\
                    [[packages.wheels]]\nname = \"click-8.1.7-py3-none-any.whl\"\nurl = \"http://127.0.0.1:9/files/click-8.1.7-py3-none-any.whl\"\n\n\
                    [packages.wheels.hashes]\nsha256 = \"AB12\"\n";
        insta::assert_snapshot!(summary(&read(text).unwrap()), @r"
            universal=false requires-python=- indexes=[]
            4: click 8.1.7 marker=[true] groups=[] extras=[] index=- source=- dependencies=None
              8: click-8.1.7-py3-none-any.whl url=http://127.0.0.1:9/files/click-8.1.7-py3-none-any.whl size=None upload-time=-
                13: sha256:ab12
            ");
    }

    fn split(text: &str) -> (String, Vec<String>) {
        let defaults = BTreeSet::from([Selector::group("default")]);
        let split = split_marker(text, &defaults).unwrap_or_else(|error| panic!("{text}: {error}"));
        let groups = split.groups.iter().map(|group| format!("{group:?}")).collect();
        (split.marker.try_to_string().unwrap_or_else(|| "true".to_string()), groups)
    }

    #[test]
    fn selection_tests_become_groups_and_the_rest_the_marker() {
        let cases = [
            ("'dev' in dependency_groups", "true", vec!["Group(\"dev\")"]),
            (
                "sys_platform == 'win32' and \"dev\" in dependency_groups",
                "sys_platform == 'win32'",
                vec!["Group(\"dev\")"],
            ),
            (
                "('dev' in dependency_groups or 'Test_Tools' in dependency_groups) and python_version < '3.12'",
                "python_full_version < '3.12'",
                vec!["Group(\"dev\")", "Group(\"test-tools\")"],
            ),
            ("'socks' in extras and sys_platform=='linux'", "sys_platform == 'linux'", vec!["Extra(\"socks\")"]),
            // A default group is always installed.
            ("'default' in dependency_groups and os_name == 'nt'", "os_name == 'nt'", vec![]),
            ("'default' in dependency_groups and 'dev' in dependency_groups", "true", vec!["Group(\"dev\")"]),
            ("python_version >= '3.11'", "python_full_version >= '3.11'", vec![]),
        ];
        for (text, marker, groups) in cases {
            assert_eq!(split(text), (marker.to_string(), groups.iter().map(ToString::to_string).collect()), "{text}");
        }
    }

    /// Where the tests cannot be told apart exactly, the package is kept wherever and for
    /// whatever selection it may be installed.
    #[test]
    fn tangled_selection_tests_widen_and_never_drop() {
        let cases = [
            // Installed on Windows without any group: no groups.
            ("'dev' in dependency_groups or sys_platform == 'win32'", "true", vec![]),
            // Only without the group: no group selects it.
            ("'dev' not in dependency_groups", "true", vec![]),
            ("'a' in extras or 'dev' not in dependency_groups", "true", vec![]),
            // Installed by default, so for any selection.
            ("'default' in dependency_groups or 'dev' in dependency_groups", "true", vec![]),
            ("'a' in extras or extras == 'x'", "true", vec![]),
            ("extras == 'x' and sys_platform == 'linux'", "sys_platform == 'linux'", vec![]),
            (
                "(sys_platform == 'linux' and 'a' in extras) or (sys_platform == 'win32' and 'b' in extras)",
                "sys_platform == 'linux' or sys_platform == 'win32'",
                vec!["Extra(\"a\")", "Extra(\"b\")"],
            ),
            // PEP 508's `extra` means nothing in a lock: taken as true.
            ("extra == 'x' and 'x' in extras", "true", vec!["Extra(\"x\")"]),
        ];
        for (text, marker, groups) in cases {
            assert_eq!(split(text), (marker.to_string(), groups.iter().map(ToString::to_string).collect()), "{text}");
        }
    }

    #[test]
    fn malformed_markers_are_errors() {
        let defaults = BTreeSet::new();
        for (text, error) in [
            ("'dev' in dependency_groups and (", "a comparison is missing"),
            ("('dev' in dependency_groups", "a parenthesis is not closed"),
            ("'dev' in dependency_groups)", "unexpected `)`"),
            ("'dev in dependency_groups", "a quoted string is not closed"),
            ("", "a comparison is missing"),
        ] {
            assert_eq!(split_marker(text, &defaults).unwrap_err(), error, "{text}");
        }
        assert!(split_marker("python_version <", &defaults).is_err());
        let nested = |depth: usize| format!("{}'dev' in dependency_groups{}", "(".repeat(depth), ")".repeat(depth));
        assert!(split_marker(&nested(MAX_NESTING), &defaults).is_ok());
        assert_eq!(
            split_marker(&nested(MAX_NESTING + 1), &defaults).unwrap_err(),
            "more than 32 levels of parentheses"
        );
    }

    fn error(text: &str) -> String {
        read(text).expect_err("the lock should be refused").to_string()
    }

    #[test]
    fn errors_name_the_line() {
        assert_eq!(
            error("lock-version = \"1.0\"\n\n[[packages]]\nname = \"a\"\nsdist = { url = \"x\", \n"),
            "pylock.toml:5: unclosed inline table, expected `}`"
        );
        assert_eq!(
            error("lock-version = \"1.0\"\n[[packages]]\nname = \"a\"\nsdist = 4\n"),
            "pylock.toml:4: invalid type: integer `4`, expected a table"
        );
        assert_eq!(
            error("lock-version = \"1.0\"\n[[packages]]\nname = \"a\"\nmarker = \"os_name == 'nt' and\"\n"),
            "pylock.toml:4: `os_name == 'nt' and` is not a PEP 508 marker: a comparison is missing"
        );
        assert_eq!(
            error("lock-version = \"1.0\"\n[[packages]]\nname = \"a\"\nversion = \"one\"\n")
                .split(':')
                .take(2)
                .collect::<Vec<_>>(),
            ["pylock.toml", "4"]
        );
        assert_eq!(
            error("lock-version = \"1.0\"\n[[packages]]\nversion = \"1\"\n"),
            "pylock.toml:2: missing field `name`"
        );
        assert_eq!(
            error(
                "lock-version = \"1.0\"\n[[packages]]\nname = \"a\"\n\n[[packages.attestation-identities]]\nrepository = \"o/a\"\n"
            ),
            "pylock.toml:5: attestation identity: no `kind` (a string) names the kind of publisher"
        );
    }

    #[test]
    fn only_lock_version_1_is_read() {
        assert_eq!(
            error("# a later format\nlock-version = \"2.0\"\n[[packages]]\nname = 3\n"),
            "pylock.toml:2: lock-version 2.0 is not supported: hashlock reads pylock lock-version 1.x"
        );
        assert_eq!(
            error("version = 1\nrevision = 3\n"),
            "pylock.toml:1: does not look like a pylock.toml (PEP 751): no lock-version; pass --lock-format if it is another format"
        );
        assert!(error("lock-version = \"1.x\"\n").contains("lock-version 1.x is not supported"));
        assert!(read("lock-version = \"1.1\"\n").is_ok_and(|lock| lock.packages.is_empty() && !lock.universal));
    }

    /// `uv export --format pylock.toml` writes the project itself as an editable directory: the
    /// user's own tree is worth a note, code from a repository is an error.
    #[test]
    fn a_directory_is_info_and_a_vcs_checkout_an_error() {
        let text = "lock-version = \"1.0\"\ncreated-by = \"uv\"\n\n[[packages]]\nname = \"project\"\n\
                    directory = { path = \".\", editable = true }\n\n[[packages]]\nname = \"gitdep\"\nversion = \"0.3.0\"\n\
                    vcs = { type = \"git\", path = \"../gitdep\", commit-id = \"0123abcd\" }\n";
        let found: Vec<String> = read(text)
            .unwrap()
            .findings
            .iter()
            .map(|f| format!("{} {}: {}", f.severity, f.location.as_deref().unwrap_or("-"), f.message))
            .collect();
        assert_eq!(
            found,
            [
                "info pylock.toml:4: project comes from directory . (editable): it is built from the local source tree, which no hash covers",
                "error pylock.toml:8: gitdep 0.3.0 comes from vcs git+../gitdep@0123abcd: no index vouches for it, so its hashes cannot be checked",
            ]
        );
    }

    // The reader's own never-panics property is in the uv.lock reader's tests, which try both.
    #[test]
    fn a_lock_for_several_environments_is_universal() {
        let lock = read("lock-version = \"1.0\"\nenvironments = [\"sys_platform == 'linux'\"]\n").unwrap();
        assert!(lock.universal);
        // The audit is bounded by them: what Windows alone needs is not missing from this lock.
        let environments: Vec<String> =
            lock.environments.iter().filter_map(MarkerTree::contents).map(|m| m.to_string()).collect();
        assert_eq!(environments, ["sys_platform == 'linux'"]);
        let error = read("lock-version = \"1.0\"\n\nenvironments = [\"sys_platform ==\"]\n").unwrap_err().to_string();
        assert!(error.starts_with("pylock.toml:3: "), "{error}");
    }

    proptest! {
        #[test]
        fn arbitrary_markers_never_panic(
            text in prop_oneof![any::<String>(), prop::collection::vec(fragment(), 0..24).prop_map(|f| f.concat())]
        ) {
            let _ = split_marker(&text, &BTreeSet::new());
        }
    }
}
