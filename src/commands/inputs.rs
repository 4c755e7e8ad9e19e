//! Requirements from the command line, from `-r`/`-c` files and from `-r pyproject.toml`, as the
//! resolver takes them.

use std::path::Path;

use anyhow::{Context, anyhow, bail};
use pep508_rs::{Requirement, VersionOrUrl};

use crate::cli::InputArgs;
use crate::commands::session::Session;
use crate::index::http::redact_text;
use crate::lockfile::requirements::{self, EntryKind, Opt};
use crate::metadata::Metadata;
use crate::pyproject::{self, Pyproject, Selection, parse_extra};
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
    /// `--extra`, `--all-extras`, `--group`: what the pyproject.toml inputs add.
    pub selection: Selection,
    /// The pyproject.toml inputs; their requirements are added once every one that needs a
    /// build is built ([`Self::build_projects`]).
    pub pyprojects: Vec<Pyproject>,
}

impl Inputs {
    /// Reads the inputs. Requirements of a pyproject.toml that only a build tells are added by
    /// [`Self::build_projects`], once the session can build.
    pub fn read(args: &InputArgs) -> anyhow::Result<Self> {
        let selection = Selection {
            extras: args
                .extra
                .iter()
                .map(|name| parse_extra(name))
                .collect::<Result<_, _>>()
                .map_err(|e| anyhow!("--extra {e}"))?,
            all_extras: args.all_extras,
            groups: args
                .group
                .iter()
                .map(|name| name.parse())
                .collect::<Result<_, _>>()
                .map_err(|e| anyhow!("--group {e}"))?,
        };
        let mut inputs = Self { pre: args.pre, selection, ..Self::default() };
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
            match (pyproject::is_pyproject(path), as_constraints) {
                (true, false) => inputs.pyprojects.push(pyproject::read(path)?),
                (true, true) => bail!("{}: a pyproject.toml is read with -r, not as constraints", path.display()),
                (false, _) => inputs.add_file(path, as_constraints)?,
            }
        }
        if inputs.pyprojects.is_empty() && !inputs.selection.is_empty() {
            bail!(
                "--extra, --all-extras and --group select from a project's pyproject.toml: give it with -r pyproject.toml"
            );
        }
        if !inputs.pyprojects.iter().any(|p| p.needs_build(&inputs.selection)) {
            inputs.complete()?;
        }
        Ok(inputs)
    }

    /// Builds the pyproject.toml inputs whose requirements only a build tells, with the
    /// session's builder, and adds the requirements of every pyproject.toml input.
    pub fn build_projects(&mut self, session: &Session) -> anyhow::Result<()> {
        let selection = &self.selection;
        let mut unbuilt = self.pyprojects.iter_mut().filter(|p| p.needs_build(selection)).peekable();
        if unbuilt.peek().is_none() {
            return Ok(());
        }
        let builder = session.client.builder().context("builds are not enabled")?;
        for project in unbuilt {
            let why = || {
                format!(
                    "{}: only a build tells its dependencies ([project] dynamic, or no [project] table)",
                    project.path.display()
                )
            };
            let tree = std::fs::canonicalize(project.directory()).with_context(why)?;
            let metadata = builder.source_tree_metadata(&tree).map_err(|e| anyhow!("{}: {e}", why()))?;
            let metadata = Metadata::parse(&metadata, &project.path.display().to_string()).with_context(why)?;
            project.set_built(metadata);
        }
        self.complete()
    }

    /// Adds the requirements of every pyproject.toml input, once none needs a build, and checks
    /// there is something to resolve.
    fn complete(&mut self) -> anyhow::Result<()> {
        self.check_selection()?;
        for project in &self.pyprojects {
            let origin = format!("-r {}", project.path.display());
            for requirement in project.requirements(&self.selection) {
                self.requirements.push(RootRequirement { requirement, origin: origin.clone() });
            }
        }
        if self.requirements.is_empty() {
            bail!("nothing to resolve: give a requirement (e.g. `hashlock generate dds-cli`) or -r FILE");
        }
        Ok(())
    }

    /// Each extra and group asked for must be one of some pyproject.toml input's.
    fn check_selection(&self) -> anyhow::Result<()> {
        let declared = |name: &str, as_group: bool| {
            self.pyprojects.iter().any(|p| match as_group {
                true => name.parse().is_ok_and(|group| p.has_group(&group)),
                false => parse_extra(name).is_ok_and(|extra| p.has_extra(&extra)),
            })
        };
        let extras = self.selection.extras.iter().map(|extra| (extra.to_string(), false));
        let groups = self.selection.groups.iter().map(|group| (group.to_string(), true));
        let Some((name, as_group)) = extras.chain(groups).find(|(name, as_group)| !declared(name, *as_group)) else {
            return Ok(());
        };
        let (what, table, other, flag) = match as_group {
            true => ("dependency group", "[dependency-groups]", "an extra", "--extra"),
            false => ("extra", "[project.optional-dependencies]", "a dependency group", "--group"),
        };
        let hint = match declared(&name, !as_group) {
            true => format!("; `{name}` is {other}: {flag} {name}"),
            false => String::new(),
        };
        let files: Vec<String> = self.pyprojects.iter().map(|p| p.path.display().to_string()).collect();
        bail!("{}: no {what} `{name}` in {table}{hint}", files.join(", "))
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
