//! Installs a build environment's requirements from their wheels, without pip: pip's start-up
//! and install took 1.5 s of every build (two, when the backend asks for more), most of a
//! build's time. Each wheel was checked against the sha256 its index published before it gets
//! here ([`super::build::LockBuildRequirements::download`]); it is unpacked as pip installs a
//! wheel into a virtual environment (the wheel spec's install scheme), its console scripts
//! written as small launchers. Nothing of the wheel runs here.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};

/// Most a wheel may unpack to: the largest real build requirements (cmake, ninja) are tens of
/// MB; anything near this is a compression bomb.
const MAX_UNPACKED_SIZE: u64 = 2 * 1024 * 1024 * 1024;

/// Where a virtual environment's install scheme puts each part of a wheel.
pub struct Scheme {
    /// `purelib` and `platlib` (one directory in a virtual environment).
    pub site_packages: PathBuf,
    pub scripts: PathBuf,
    /// `include/site/pythonX.Y`: headers go under it, in a directory named for the project.
    pub headers: PathBuf,
    /// The environment's root (`data`).
    pub data: PathBuf,
    /// The interpreter a `#!python` shebang and a console script's launcher name.
    pub python: PathBuf,
}

impl Scheme {
    /// The scheme of the virtual environment at `env`, made by `python -m venv` for CPython
    /// `major.minor`.
    pub fn of_venv(env: &Path, (major, minor): (u64, u64)) -> Self {
        let (site_packages, scripts, python) = if cfg!(windows) {
            (env.join("Lib").join("site-packages"), env.join("Scripts"), env.join("Scripts").join("python.exe"))
        } else {
            let lib = env.join("lib").join(format!("python{major}.{minor}")).join("site-packages");
            (lib, env.join("bin"), env.join("bin").join("python"))
        };
        let headers = env.join("include").join("site").join(format!("python{major}.{minor}"));
        Self { site_packages, scripts, headers, data: env.to_path_buf(), python }
    }
}

/// Unpacks the wheel `filename` (read from `wheel`) into `scheme`. A member whose path would
/// leave its directory, an unknown `.data` part, or more than [`MAX_UNPACKED_SIZE`] refuses the
/// whole wheel.
pub fn install(wheel: File, filename: &str, scheme: &Scheme) -> Result<(), String> {
    let bad = |why: &dyn std::fmt::Display| format!("{filename}: {why}");
    let mut zip = zip::ZipArchive::new(wheel).map_err(|e| bad(&e))?;
    // `name-version.dist-info/` names the project and its `.data` directory.
    let dist_info = (0..zip.len())
        .filter_map(|i| zip.name_for_index(i))
        .filter_map(|name| name.split('/').next())
        .find(|top| top.ends_with(".dist-info"))
        .map(str::to_string)
        .ok_or_else(|| bad(&"no .dist-info directory"))?;
    let stem = dist_info.trim_end_matches(".dist-info");
    let data_dir = format!("{stem}.data");
    let project = stem.split('-').next().unwrap_or(stem).to_string();
    let mut left = MAX_UNPACKED_SIZE;
    let mut entry_points = None;
    for index in 0..zip.len() {
        let mut member = zip.by_index(index).map_err(|e| bad(&e))?;
        if member.is_dir() {
            continue;
        }
        let name = member.enclosed_name().ok_or_else(|| bad(&format!("unsafe member path `{}`", member.name())))?;
        let (destination, is_script) = destination(&name, &data_dir, &project, scheme).map_err(|e| bad(&e))?;
        if let Some(parent) = destination.parent() {
            std::fs::create_dir_all(parent).map_err(|e| bad(&e))?;
        }
        let mut capped = (&mut member).take(left + 1);
        let is_entry_points = name == Path::new(&dist_info).join("entry_points.txt");
        let written = if is_script || is_entry_points {
            // Small files read whole: a script's shebang is rewritten, entry points are read.
            let mut bytes = Vec::new();
            capped.read_to_end(&mut bytes).map_err(|e| bad(&e))?;
            if is_script && let Some(rest) = bytes.strip_prefix(b"#!python") {
                let rest = rest.strip_prefix(b"w").unwrap_or(rest);
                // The wheel spec's placeholder shebang, for the environment's interpreter.
                let mut rewritten = format!("#!{}", scheme.python.display()).into_bytes();
                rewritten.extend_from_slice(rest);
                bytes = rewritten;
            }
            if is_entry_points {
                entry_points = Some(String::from_utf8_lossy(&bytes).into_owned());
            }
            std::fs::write(&destination, &bytes).map_err(|e| bad(&e))?;
            bytes.len() as u64
        } else {
            let mut out = File::create(&destination).map_err(|e| bad(&e))?;
            std::io::copy(&mut capped, &mut out).map_err(|e| bad(&e))?
        };
        left = left.checked_sub(written).ok_or_else(|| bad(&"it unpacks to too much"))?;
        let executable = is_script || member.unix_mode().is_some_and(|mode| mode & 0o111 != 0);
        if executable {
            make_executable(&destination).map_err(|e| bad(&e))?;
        }
    }
    for (script, module, attribute) in console_scripts(entry_points.as_deref().unwrap_or_default()) {
        write_launcher(&scheme.scripts, &scheme.python, &script, &module, &attribute).map_err(|e| bad(&e))?;
    }
    Ok(())
}

/// Where the member `name` goes, and whether it is a script.
fn destination(name: &Path, data_dir: &str, project: &str, scheme: &Scheme) -> Result<(PathBuf, bool), String> {
    let mut parts = name.components();
    if parts.next() != Some(Component::Normal(data_dir.as_ref())) {
        return Ok((scheme.site_packages.join(name), false));
    }
    let part = parts.next().and_then(|c| c.as_os_str().to_str()).unwrap_or_default().to_string();
    let rest: PathBuf = parts.collect();
    match part.as_str() {
        "purelib" | "platlib" => Ok((scheme.site_packages.join(rest), false)),
        "scripts" => Ok((scheme.scripts.join(rest), true)),
        "headers" => Ok((scheme.headers.join(project).join(rest), false)),
        "data" => Ok((scheme.data.join(rest), false)),
        other => Err(format!("unknown install scheme part `{other}` in {data_dir}")),
    }
}

/// `[console_scripts]` and `[gui_scripts]` entries: (script, module, attribute path). Entries
/// without `module:attribute` (which pip refuses too) are left out.
fn console_scripts(entry_points: &str) -> Vec<(String, String, String)> {
    let mut section = "";
    let mut found = Vec::new();
    for line in entry_points.lines().map(str::trim) {
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.trim();
            continue;
        }
        if !matches!(section, "console_scripts" | "gui_scripts") {
            continue;
        }
        let Some((script, target)) = line.split_once('=') else { continue };
        // `module:attr [extra]`: extras do not change what runs.
        let target = target.split('[').next().unwrap_or_default().trim();
        let Some((module, attribute)) = target.split_once(':') else { continue };
        let (script, module, attribute) = (script.trim(), module.trim(), attribute.trim());
        let plain = |text: &str| !text.is_empty() && text.split('.').all(is_identifier);
        // The launcher is Python source: only names that are identifiers go into it.
        if plain(module) && plain(attribute) && !script.is_empty() && !script.contains(['/', '\\']) {
            found.push((script.to_string(), module.to_string(), attribute.to_string()));
        }
    }
    found
}

fn is_identifier(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c == '_' || c.is_alphabetic()) && chars.all(|c| c == '_' || c.is_alphanumeric())
}

/// A console script as pip writes one (on Windows a `.py` beside the interpreter instead of an
/// `.exe` launcher: build backends run tools through Python, not by their `.exe`).
fn write_launcher(scripts: &Path, python: &Path, script: &str, module: &str, attribute: &str) -> std::io::Result<()> {
    let top = attribute.split('.').next().unwrap_or(attribute);
    let text = format!(
        "#!{}\nimport sys\nfrom {module} import {top}\nif __name__ == \"__main__\":\n    sys.exit({attribute}())\n",
        python.display()
    );
    std::fs::create_dir_all(scripts)?;
    let path = scripts.join(if cfg!(windows) { format!("{script}.py") } else { script.to_string() });
    File::create(&path)?.write_all(text.as_bytes())?;
    make_executable(&path)
}

#[cfg(unix)]
fn make_executable(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
}

#[cfg(not(unix))]
fn make_executable(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A wheel with the given members.
    fn wheel(members: &[(&str, &[u8], u32)]) -> File {
        let mut file = tempfile::tempfile().unwrap();
        let mut zip = zip::ZipWriter::new(&mut file);
        for (name, bytes, mode) in members {
            let options = zip::write::SimpleFileOptions::default().unix_permissions(*mode);
            zip.start_file(*name, options).unwrap();
            zip.write_all(bytes).unwrap();
        }
        zip.finish().unwrap();
        use std::io::Seek;
        file.seek(std::io::SeekFrom::Start(0)).unwrap();
        file
    }

    fn scheme(root: &Path) -> Scheme {
        Scheme::of_venv(root, (3, 12))
    }

    #[test]
    fn members_go_where_the_install_scheme_puts_them() {
        let dir = tempfile::tempdir().unwrap();
        let scheme = scheme(dir.path());
        let members: &[(&str, &[u8], u32)] = &[
            ("tool/__init__.py", b"def main(): return 0\n", 0o644),
            ("tool/bin/helper", b"\x7fELF", 0o755),
            ("tool-1.0.dist-info/METADATA", b"Name: tool\n", 0o644),
            ("tool-1.0.dist-info/entry_points.txt", b"[console_scripts]\ntool = tool:main\nbad = os;rm:x\n", 0o644),
            ("tool-1.0.data/scripts/run", b"#!python\nprint(1)\n", 0o644),
            ("tool-1.0.data/headers/tool.h", b"int x;\n", 0o644),
            ("tool-1.0.data/platlib/_tool.so", b"so", 0o755),
            ("tool-1.0.data/data/share/tool.txt", b"data", 0o644),
        ];
        install(wheel(members), "tool-1.0-py3-none-any.whl", &scheme).unwrap();
        let read = |path: PathBuf| std::fs::read_to_string(path).unwrap();
        assert_eq!(read(scheme.site_packages.join("tool/__init__.py")), "def main(): return 0\n");
        assert!(scheme.site_packages.join("tool-1.0.dist-info/METADATA").exists());
        assert!(scheme.site_packages.join("_tool.so").exists());
        assert_eq!(read(scheme.headers.join("tool/tool.h")), "int x;\n");
        assert_eq!(read(dir.path().join("share/tool.txt")), "data");
        let python = scheme.python.display().to_string();
        assert_eq!(read(scheme.scripts.join("run")), format!("#!{python}\nprint(1)\n"));
        if cfg!(unix) {
            let launcher = read(scheme.scripts.join("tool"));
            assert!(launcher.starts_with(&format!("#!{python}\n")), "{launcher}");
            assert!(
                launcher.contains("from tool import main\n") && launcher.contains("sys.exit(main())"),
                "{launcher}"
            );
            assert!(!scheme.scripts.join("bad").exists(), "an entry point that is not `module:attr` names is skipped");
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: PathBuf| std::fs::metadata(p).unwrap().permissions().mode() & 0o111;
            assert_ne!(mode(scheme.site_packages.join("tool/bin/helper")), 0, "executables stay executable");
            assert_ne!(mode(scheme.scripts.join("tool")), 0);
        }
    }

    #[test]
    fn unsafe_or_unknown_members_refuse_the_wheel() {
        let dir = tempfile::tempdir().unwrap();
        let scheme = scheme(dir.path());
        let escaping: &[(&str, &[u8], u32)] =
            &[("../escape.py", b"x", 0o644), ("t-1.0.dist-info/METADATA", b"", 0o644)];
        let error = install(wheel(escaping), "t-1.0-py3-none-any.whl", &scheme).unwrap_err();
        assert!(error.contains("unsafe member path"), "{error}");
        assert!(!dir.path().join("escape.py").exists());
        let unknown: &[(&str, &[u8], u32)] =
            &[("t-1.0.data/elsewhere/x", b"x", 0o644), ("t-1.0.dist-info/METADATA", b"", 0o644)];
        let error = install(wheel(unknown), "t-1.0-py3-none-any.whl", &scheme).unwrap_err();
        assert!(error.contains("unknown install scheme part `elsewhere`"), "{error}");
        let error = install(wheel(&[("t/x.py", b"x", 0o644)]), "t-1.0-py3-none-any.whl", &scheme).unwrap_err();
        assert!(error.contains("no .dist-info"), "{error}");
    }

    #[test]
    fn console_scripts_are_read_from_both_sections() {
        let text = "[console_scripts]\na = pkg.cli:main.run [extra]\n\n[gui_scripts]\nb=gui:start\n[other]\nc = x:y\n";
        assert_eq!(
            console_scripts(text),
            [("a".into(), "pkg.cli".into(), "main.run".into()), ("b".into(), "gui".into(), "start".into())]
        );
    }
}
