//! `hashlock cache dir|size|clean`.

use anyhow::Context;

use crate::cli::{CacheAction, CacheArgs};
use crate::commands::ExitStatus;
use crate::index::cache::{Cache, Freshness};

pub fn run(args: &CacheArgs) -> anyhow::Result<ExitStatus> {
    let root =
        args.cache_dir.clone().or_else(Cache::default_dir).context("no cache directory: set --cache-dir or HOME")?;
    let cache = Cache::new(root, Freshness::Normal);
    match args.action {
        CacheAction::Dir => println!("{}", cache.root().display()),
        CacheAction::Size => println!("{}", cache.size()),
        CacheAction::Clean => {
            cache.clean().with_context(|| format!("cannot clean {}", cache.root().display()))?;
        }
    }
    Ok(ExitStatus::Success)
}
