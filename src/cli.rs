//! The clap definitions: what a user can type. No logic lives here.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::index::IndexStrategy;

#[derive(Debug, Parser)]
#[command(
    name = "hashlock",
    version,
    about = "Hash-pinned Python requirements: resolve, lock every published hash, audit and explain.",
    long_about = "hashlock resolves Python requirements with their whole dependency tree against a \
package index, collects every published hash of every pinned version, and writes a requirements \
file that `pip install --require-hashes -r FILE` accepts (or a PEP 751 pylock.toml). It reports \
packages whose hashes are missing, weak or inconsistent, and audits the lockfiles people have: \
requirements files, pylock.toml, uv.lock, poetry.lock, pdm.lock and Pipfile.lock.\n\nThe index is chosen as pip chooses it: --index-url, then \
PIP_INDEX_URL, then `index-url` in pip's configuration files, then pip's own default (read from the \
files of the `pip` on PATH, else asked of it).",
    after_help = "Exit status: 0 success, 1 findings (e.g. a file without a usable hash), 2 usage or runtime error."
)]
pub struct Cli {
    #[command(flatten)]
    pub output: OutputArgs,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Print only errors; no progress display.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Print what happens, and a timing summary at the end.
    #[arg(short, long, global = true)]
    pub verbose: bool,

    /// Colour the text report and error messages: auto (on a terminal, unless NO_COLOR is
    /// set), always (also into pipes and files), never.
    #[arg(long, global = true, value_enum, value_name = "WHEN", default_value = "auto")]
    pub color: clap::ColorChoice,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Resolve requirements and write a `--require-hashes` requirements file or a pylock.toml.
    #[command(
        after_help = "Examples:\n  hashlock generate dds-cli\n  hashlock generate -r requirements.in -o requirements.txt\n  hashlock generate 'requests[socks]>=2.31' --python-version 3.12 --python-platform windows\n  hashlock generate dds-cli --universal --python-version 3.9 -o requirements.txt\n  hashlock generate dds-cli -o pylock.toml\n  hashlock generate -r pyproject.toml --extra socks --group dev"
    )]
    Generate(GenerateArgs),
    /// Resolve like `generate` and report each package's hash evidence, with a verdict.
    #[command(
        after_help = "Example:\n  hashlock report dds-cli --python-version 3.11 --python-platform linux --format markdown"
    )]
    Report(ReportArgs),
    /// Check an existing lockfile against the index (for CI): pins, hashes, sizes, dependencies,
    /// and what an installer would silently ignore. Reads requirements files, pylock.toml,
    /// uv.lock, poetry.lock, pdm.lock and Pipfile.lock.
    #[command(
        after_help = "Examples:\n  hashlock audit requirements.txt --fail-on error\n  hashlock audit uv.lock --format json\n  hashlock audit poetry.lock --group dev"
    )]
    Audit(AuditArgs),
    /// Audit a lockfile of any format, then write its pins as a `--require-hashes`
    /// requirements file (or a pylock.toml) with every hash the index publishes for them.
    #[command(
        after_help = "Example:\n  hashlock export poetry.lock -o requirements.txt\n  pip install --require-hashes -r requirements.txt"
    )]
    Export(ExportArgs),
    /// Check downloaded distribution files, or an installed environment (--installed), against
    /// a lockfile and the index.
    #[command(
        after_help = "Examples:\n  pip download --no-deps --require-hashes -r requirements.txt -d dl\n  hashlock verify requirements.txt dl\n  hashlock verify requirements.txt --installed .venv\n  hashlock verify --installed .venv"
    )]
    Verify(VerifyArgs),
    /// Inspect or clear hashlock's on-disk cache.
    Cache(CacheArgs),
    /// For pre-commit: fail when a changed requirements `NAME.in` comes without its
    /// regenerated `NAME.txt` beside it among the FILEs (the files the commit changes).
    GenerateCheck {
        #[arg(value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Print the completion script for a shell.
    #[command(
        after_help = "Examples:\n  hashlock completions bash > ~/.local/share/bash-completion/completions/hashlock\n  hashlock completions zsh > ~/.zfunc/_hashlock\n  hashlock completions fish > ~/.config/fish/completions/hashlock.fish"
    )]
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page, hashlock(1), in roff.
    #[command(after_help = "Example:\n  hashlock man > ~/.local/share/man/man1/hashlock.1")]
    Man,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    #[command(flatten)]
    pub input: InputArgs,

    #[command(flatten)]
    pub write: WriteArgs,

    /// Write the file even when a pinned file has no usable hash (pip will then refuse it; a
    /// pylock.toml leaves the file out).
    #[arg(long)]
    pub allow_missing_hashes: bool,

    /// For pinned files whose index publishes no sha256 (only md5 or sha1, or no hash),
    /// download them, check any hash the index does publish, and write the sha256 computed
    /// (trust on first use: a `computed-hash` warning says so).
    #[arg(long)]
    pub compute_missing_hashes: bool,

    /// Also write the report there (format from the extension: .json, .md, else text).
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,

    /// Also write there (atomically) the hash-pinned build requirements of every sdist the
    /// target would build, for `pip install --require-hashes -r FILE --build-constraint THIS`.
    #[arg(long, value_name = "FILE", conflicts_with = "no_build")]
    pub build_constraints: Option<PathBuf>,

    #[command(flatten)]
    pub provenance: ProvenanceArgs,

    #[command(flatten)]
    pub build: BuildArgs,

    #[command(flatten)]
    pub target: TargetArgs,

    #[command(flatten)]
    pub index: IndexArgs,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub input: InputArgs,

    #[command(flatten)]
    pub report: ReportOptions,

    #[command(flatten)]
    pub provenance: ProvenanceArgs,

    #[command(flatten)]
    pub build: BuildArgs,

    #[command(flatten)]
    pub target: TargetArgs,

    #[command(flatten)]
    pub index: IndexArgs,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// The lockfiles to audit: requirements files, pylock.toml (or pylock.NAME.toml), uv.lock,
    /// poetry.lock, pdm.lock or Pipfile.lock, told by their names (several: one report each,
    /// in one document; not with --format json).
    #[arg(value_name = "LOCKFILE", required = true)]
    pub files: Vec<PathBuf>,

    #[command(flatten)]
    pub lock: LockArgs,

    #[command(flatten)]
    pub report: ReportOptions,

    #[command(flatten)]
    pub provenance: ProvenanceArgs,

    #[command(flatten)]
    pub build: BuildArgs,

    /// Where the lock covers several environments (uv, Poetry, PDM, pylock.toml), it is
    /// audited for all of them; otherwise for this machine's Python and platform, or the
    /// Pipfile.lock's Python. These options override that.
    #[command(flatten)]
    pub target: TargetArgs,

    #[command(flatten)]
    pub index: IndexArgs,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The lockfile to export (any format `audit` reads).
    #[arg(value_name = "LOCKFILE")]
    pub file: PathBuf,

    #[command(flatten)]
    pub write: WriteArgs,

    #[command(flatten)]
    pub lock: LockArgs,

    #[command(flatten)]
    pub provenance: ProvenanceArgs,

    #[command(flatten)]
    pub build: BuildArgs,

    /// As for `audit`: the lock's own environments unless these say otherwise.
    #[command(flatten)]
    pub target: TargetArgs,

    #[command(flatten)]
    pub index: IndexArgs,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The lockfile the files should match (any format `audit` reads); optional with
    /// --installed.
    #[arg(value_name = "LOCKFILE", required_unless_present = "installed")]
    pub file: Option<PathBuf>,

    /// The lockfile's format, when its name does not tell it.
    #[arg(long, value_name = "FORMAT")]
    pub lock_format: Option<crate::lockfile::LockFormat>,

    /// Distribution files, or directories of them (e.g. from `pip download`).
    #[arg(value_name = "PATH", required_unless_present = "installed", conflicts_with = "installed")]
    pub paths: Vec<PathBuf>,

    /// Verify an installed environment instead: a virtualenv directory or a Python executable
    /// [default: the active virtualenv, else the python3 on PATH]. Every installed file is
    /// compared with the wheel it came from, and files no distribution installed are found.
    #[arg(long, value_name = "ENV", num_args = 0..=1)]
    pub installed: Option<Option<PathBuf>>,

    #[command(flatten)]
    pub report: ReportOptions,

    #[command(flatten)]
    pub index: IndexArgs,
}

#[derive(Debug, Args)]
pub struct ReportOptions {
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: crate::output::report::Format,

    /// Exit 1 when a finding of this severity or worse is found.
    #[arg(long, value_enum, value_name = "SEVERITY", default_value = "warning")]
    pub fail_on: crate::check::findings::Severity,

    /// Write the report there (atomically) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct InputArgs {
    /// Requirements to resolve, as PEP 508 specifiers: `dds-cli`, `requests[socks]>=2.31`.
    #[arg(value_name = "REQUIREMENT")]
    pub requirements: Vec<String>,

    /// Read requirements from a pip requirements file, or from a project's `pyproject.toml`
    /// (its `[project] dependencies`; told by the file name) (repeatable).
    #[arg(short = 'r', long = "requirement", value_name = "FILE")]
    pub requirement_files: Vec<PathBuf>,

    /// Add this extra of the pyproject.toml's `[project.optional-dependencies]` (repeatable;
    /// with several pyproject.toml files, of those that declare it).
    #[arg(long, value_name = "NAME")]
    pub extra: Vec<String>,

    /// Add every extra of the pyproject.toml.
    #[arg(long, conflicts_with = "extra")]
    pub all_extras: bool,

    /// Add this PEP 735 dependency group of the pyproject.toml's `[dependency-groups]`
    /// (repeatable; with several pyproject.toml files, of those that declare it).
    #[arg(long, value_name = "NAME")]
    pub group: Vec<String>,

    /// Limit versions with a constraints file, without adding packages (repeatable).
    #[arg(short = 'c', long = "constraint", value_name = "FILE")]
    pub constraint_files: Vec<PathBuf>,

    /// Allow pre-release versions everywhere (by default only where a specifier names one).
    #[arg(long)]
    pub pre: bool,
}

/// PEP 740 provenance: every file's attestations are verified where the index serves them.
#[derive(Debug, Args)]
pub struct ProvenanceArgs {
    /// Fail unless every file has verified PEP 740 provenance: a file without it is a
    /// `provenance-missing` error (an info otherwise), and `generate` writes nothing.
    #[arg(long)]
    pub require_provenance: bool,

    /// Verify attestations against this Sigstore trusted root (`trusted_root.json`) [default: the
    /// Sigstore public-good instance's, embedded in hashlock].
    #[arg(long, value_name = "FILE")]
    pub trusted_root: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Never run an sdist's build backend: versions whose metadata only a build would give are
    /// excluded.
    #[arg(long)]
    pub no_build: bool,

    /// Seconds one sdist's metadata build may take, its environment and installs included.
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    pub build_timeout: u64,
}

/// Where and in which format `generate` and `export` write the lock.
#[derive(Debug, Args)]
pub struct WriteArgs {
    /// Write the lock here (atomically) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// What to write: a requirements file, or a PEP 751 lock for `pip install -r pylock.toml`
    /// [default: pylock.toml when -o names pylock.toml or pylock.NAME.toml, else
    /// requirements.txt].
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<crate::output::LockOutput>,
}

/// How to read a lockfile, and which of its groups to check.
#[derive(Debug, Args)]
pub struct LockArgs {
    /// The lockfile's format, when its name does not tell it.
    #[arg(long, value_name = "FORMAT")]
    pub lock_format: Option<crate::lockfile::LockFormat>,

    /// Check only the project's own dependencies and this dependency group (PEP 735, Poetry,
    /// PDM, Pipfile `develop`; repeatable) [default: every package of the lock].
    #[arg(long, value_name = "NAME")]
    pub group: Vec<String>,

    /// Check only the project's own dependencies and this extra (repeatable).
    #[arg(long, value_name = "NAME")]
    pub extra: Vec<String>,
}

#[derive(Clone, Debug, Args)]
pub struct TargetArgs {
    /// Python version to resolve for, e.g. 3.11; with --universal the lowest one served
    /// [default: the python3 on PATH].
    #[arg(long, value_name = "X.Y")]
    pub python_version: Option<String>,

    /// Resolve for every platform (Linux, macOS, Windows; CPython and PyPy) and every Python from
    /// --python-version up: dependencies some environment needs get the marker under which it
    /// needs them, and packages get one line per version where environments need different ones.
    #[arg(long, conflicts_with = "python_platform")]
    pub universal: bool,

    /// Platform to resolve for: linux, macos or windows, optionally with an architecture
    /// (aarch64-linux) [default: this machine].
    #[arg(long, value_name = "PLATFORM")]
    pub python_platform: Option<String>,
}

#[derive(Debug, Args)]
pub struct IndexArgs {
    /// Base URL of the simple repository API [default: as pip: PIP_INDEX_URL, pip's
    /// configuration, then pip's own default].
    #[arg(short = 'i', long, value_name = "URL")]
    pub index_url: Option<String>,

    /// Additional index to search, after the primary one (repeatable) [default: as pip].
    #[arg(long, value_name = "URL")]
    pub extra_index_url: Vec<String>,

    /// Which indexes a project comes from: first-index (only the first index that has it),
    /// unsafe-first-match (every index, the first one's versions preferred), unsafe-best-match
    /// (every index, newest version wins: pip's behaviour, open to dependency confusion).
    #[arg(long, value_enum, value_name = "STRATEGY", default_value_t = IndexStrategy::FirstIndex)]
    pub index_strategy: IndexStrategy,

    /// PEM file of additional trusted certificate authorities [default: as pip's `cert`].
    #[arg(long, value_name = "PEM")]
    pub cert: Option<PathBuf>,

    #[command(flatten)]
    pub cache: CacheOptions,

    /// Requests in flight at most.
    #[arg(short, long, value_name = "N", default_value_t = 32)]
    pub jobs: usize,

    /// Seconds one attempt at a request may take, its whole body included, before a retry.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub timeout: u64,
}

#[derive(Debug, Args)]
pub struct CacheOptions {
    /// Cache directory [default: the platform cache directory].
    #[arg(long, value_name = "DIR", env = "HASHLOCK_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,

    /// Neither read nor write the cache.
    #[arg(long, conflicts_with_all = ["offline", "refresh"])]
    pub no_cache: bool,

    /// Fetch project pages again even when the cached ones are fresh.
    #[arg(long, conflicts_with = "offline")]
    pub refresh: bool,

    /// Use only the cache, stale or not; fail if something is missing.
    #[arg(long)]
    pub offline: bool,

    /// When an index cannot be reached (after retries), use a cached page however old, and say
    /// so in the written file's header.
    #[arg(long, conflicts_with_all = ["no_cache", "offline"])]
    pub allow_stale: bool,
}

#[derive(Debug, Args)]
pub struct CacheArgs {
    #[command(subcommand)]
    pub action: CacheAction,

    /// Cache directory [default: the platform cache directory].
    #[arg(long, value_name = "DIR", env = "HASHLOCK_CACHE_DIR", global = true)]
    pub cache_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, Subcommand, ValueEnum)]
pub enum CacheAction {
    /// Print the cache directory.
    Dir,
    /// Print the cache's size in bytes.
    Size,
    /// Remove everything in the cache.
    Clean,
}
