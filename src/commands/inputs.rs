//! Requirements from the command line and from `-r`/`-c` files, as the resolver takes them.

use std::path::Path;

use anyhow::bail;
use pep508_rs::{Requirement, VersionOrUrl};

use crate::cli::InputArgs;
use crate::index::http::redact_text;
use crate::lockfile::requirements::{self, EntryKind, Opt};
use crate::resolve::RootRequirement;

#[derive(Clone, Debug, Default)]
pub struct Inputs {
    pub requirements: Vec<RootRequirement>,
    pub constraints: Vec<Requirement>,
    /// `--pre` given on the command line or in a file.
    pub pre: bool,
    /// The first `--index-url` found in a requirements file.
    pub index_url: Option<String>,
    pub extra_index_urls: Vec<String>,
}

impl Inputs {
    pub fn read(args: &InputArgs) -> anyhow::Result<Self> {
        let mut inputs = Self { pre: args.pre, ..Self::default() };
        for spec in &args.requirements {
            let requirement = crate::requirement::parse(spec)
                .map_err(|message| anyhow::anyhow!("invalid requirement `{}`: {message}", redact_text(spec)))?;
            if matches!(requirement.version_or_url, Some(VersionOrUrl::Url(_))) {
                bail!(
                    "`{}`: direct URL requirements are not supported; hashlock resolves from an index",
                    redact_text(spec)
                );
            }
            inputs.requirements.push(RootRequirement { requirement, origin: String::new() });
        }
        let files =
            args.requirement_files.iter().map(|p| (p, false)).chain(args.constraint_files.iter().map(|p| (p, true)));
        for (path, as_constraints) in files {
            inputs.add_file(path, as_constraints)?;
        }
        if inputs.requirements.is_empty() {
            bail!("nothing to resolve: give a requirement (e.g. `hashlock generate dds-cli`) or -r FILE");
        }
        Ok(inputs)
    }

    fn add_file(&mut self, path: &Path, as_constraints: bool) -> anyhow::Result<()> {
        let mut file = requirements::parse_file(path)?;
        // Ignoring these would resolve a file meant for local-only installs from the index.
        if let Some(option) = file.options.iter().find(|o| matches!(o.opt, Opt::NoIndex | Opt::FindLinks)) {
            bail!(
                "{}: {} is not supported: hashlock resolves from a package index (-i/--index-url), not from local directories or link pages",
                option.location,
                option.opt.name()
            );
        }
        self.pre |= file.pre;
        if self.index_url.is_none() {
            self.index_url = file.index_url.clone();
        }
        self.extra_index_urls.extend(file.extra_index_urls.iter().cloned());
        for entry in std::mem::take(&mut file.entries) {
            let requirement = match entry.kind {
                EntryKind::Named(requirement) => requirement,
                EntryKind::Editable(what) | EntryKind::Url(what) => {
                    bail!(
                        "{}: `{}`: editable, URL and path requirements are not supported; hashlock resolves from an index",
                        entry.location,
                        redact_text(&file.as_written(&what))
                    )
                }
            };
            if as_constraints || entry.constraint {
                self.constraints.push(requirement);
            } else {
                let origin = format!("-r {}", entry.location.file.display());
                self.requirements.push(RootRequirement { requirement, origin });
            }
        }
        Ok(())
    }
}
