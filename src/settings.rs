//! Command-line flags + environment + pip configuration → one validated [`Settings`] value.

use std::time::Duration;

use crate::cli::{BuildArgs, CacheOptions, IndexArgs};
use crate::index::cache::{Cache, Freshness};
use crate::index::config::{self, ConfigError, IndexChoice, IndexFlags};
use crate::index::http::{HttpClient, HttpError, HttpOptions};
use crate::index::{IndexClient, IndexStrategy};
use crate::metadata::build::BuildOptions;
use crate::target::Target;

/// Sdist builds at once: each is a virtualenv, an unpacking of wheels and two Python processes
/// that spend much of their time starting up and importing, so more than the cores overlap.
const PARALLEL_BUILDS: usize = 4;

#[derive(Clone, Debug)]
pub struct Settings {
    pub index: IndexChoice,
    pub cache: Option<Cache>,
    pub http: HttpOptions,
    /// Requests in flight at most.
    pub jobs: usize,
    pub index_strategy: IndexStrategy,
    /// `--allow-stale`.
    pub allow_stale: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error("--jobs must be at least 1")]
    NoJobs,
    #[error("no cache directory: set --cache-dir or HOME, or pass --no-cache")]
    NoCacheDir,
}

impl Settings {
    /// `file_index_url`, `file_extra_index_urls`: index options of a requirements file. Its
    /// `--index-url` ranks below the command line and above the environment; its extra indexes
    /// are added to the others, as pip adds them.
    pub fn from_args(
        args: &IndexArgs,
        file_index_url: Option<&str>,
        file_extra_index_urls: &[String],
    ) -> Result<Self, SettingsError> {
        if args.jobs == 0 {
            return Err(SettingsError::NoJobs);
        }
        let cache = cache_from_options(&args.cache)?;
        let flags = IndexFlags {
            index_url: args.index_url.clone().or_else(|| file_index_url.map(str::to_string)),
            extra_index_urls: args.extra_index_url.clone(),
            file_extra_index_urls: file_extra_index_urls.to_vec(),
            cert: args.cert.clone(),
        };
        let index = config::choose(&flags, cache.is_some())?;
        let http = HttpOptions {
            cert: index.cert.clone(),
            timeout: Duration::from_secs(args.timeout.max(1)),
            offline: args.cache.offline,
            ..HttpOptions::default()
        };
        let (index_strategy, allow_stale) = (args.index_strategy, args.cache.allow_stale);
        Ok(Self { index, cache, http, jobs: args.jobs, index_strategy, allow_stale })
    }

    /// How sdists are built for `target`.
    pub fn build_options(&self, args: &BuildArgs, target: &Target) -> BuildOptions {
        BuildOptions {
            no_build: args.no_build,
            offline: self.http.offline,
            timeout: Duration::from_secs(args.build_timeout.max(1)),
            parallel: PARALLEL_BUILDS,
            python: target.python,
        }
    }

    pub fn index_client(&self) -> Result<IndexClient, SettingsError> {
        let http = HttpClient::new(self.http.clone())?;
        Ok(IndexClient::new(http, self.index.all(), self.cache.clone())
            .with_strategy(self.index_strategy)
            .with_allow_stale(self.allow_stale))
    }
}

/// `None` with `--no-cache`.
pub fn cache_from_options(options: &CacheOptions) -> Result<Option<Cache>, SettingsError> {
    if options.no_cache {
        return Ok(None);
    }
    let freshness = if options.offline {
        Freshness::Offline
    } else if options.refresh {
        Freshness::Refresh
    } else {
        Freshness::Normal
    };
    let root = options.cache_dir.clone().or_else(Cache::default_dir).ok_or(SettingsError::NoCacheDir)?;
    let cache = Cache::new(root, freshness);
    cache.remove_stale_temp_files();
    Ok(Some(cache))
}
