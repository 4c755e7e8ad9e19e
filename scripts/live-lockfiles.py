#!/usr/bin/env python3
"""Live: hashlock against lockfiles the real tools make, and against uv's pylock.toml.

(A) For a project depending on dds-cli, uv, Poetry, PDM and Pipenv lock it against the machine's
default index (uv.lock, pylock.toml from `uv export`, poetry.lock, pdm.lock, Pipfile.lock).
`hashlock audit` must pass each as written (exit 0), and must fail (exit 1) on a copy with one
planted fault, naming the package and the FILE:LINE of the fault: a flipped sha256 digit, a
removed package (the finding sits at a package that depends on it), an md5 in place of a sha256.

(B) `hashlock generate dds-cli -o pylock.toml` for Python 3.11 on Linux against
`uv pip compile --format pylock.toml` for the same target: pins and sha256 per file. Then
hashlock's pylock.toml is installed by pip (>= 26.3, `pip install -r pylock.toml`) and by
`uv pip install`, each into a fresh venv, and `dds --version` must run in both.

    scripts/live-lockfiles.py [--hashlock PATH] [--tools VENV] [--work DIR] [--part a|b]
                              [--save-sample PATH]

--tools reuses a venv that has uv, poetry, pdm and pipenv (else one is made in the work dir);
--work keeps the lockfiles and venvs there (else a temporary dir, removed at the end);
--save-sample writes hashlock's pylock.toml with the scheme and host of every URL replaced by
http://127.0.0.1:9, so that it can be committed without naming the index it came from.

Needs the network; never run by the tests. Every tool and hashlock run without PIP_FIND_LINKS.
"""

import argparse
import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ["uv", "poetry", "pdm", "pipenv"]
# PDM 2.29 fails with hishel 2.
TOOL_REQUIREMENTS = [*TOOLS, "hishel[httpx2]>=1.4,<2"]
SAMPLE_BASE = "http://127.0.0.1:9"
URL_BASE = re.compile(r"https?://[^/\s\"'<>]+")
# A sha256 as every format here writes one: `sha256:HEX` (uv, Poetry, PDM, Pipfile) or
# `sha256 = "HEX"` (pylock.toml). Group 1 is what stands between the name and the digits.
SHA256 = re.compile(r"sha256(:|\s*=\s*\")([0-9a-f]{64})")

FLIP_PACKAGE = "click"
REMOVE_PACKAGE = "requests"
MD5_PACKAGE = "idna"


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def tool_env(tools_bin: Path, scratch: Path, python: str) -> dict[str, str]:
    """The machine's environment (its index settings included) less PIP_FIND_LINKS, the tools'
    venv first on PATH, and nothing that asks a question or waits for a keyring."""
    env = {k: v for k, v in os.environ.items() if k != "PIP_FIND_LINKS"}
    env["PATH"] = f"{tools_bin}:{env.get('PATH', '')}"
    env.update(
        PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
        PDM_CHECK_UPDATE="false",
        PIPENV_VENV_IN_PROJECT="1",
        PIPENV_YES="1",
        PIPENV_NOSPIN="1",
        PIPENV_PYTHON=python,
        UV_PYTHON_DOWNLOADS="never",
        TMPDIR=str(scratch),
    )
    return env


@dataclass
class Run:
    code: int
    seconds: float
    stdout: str
    stderr: str

    def first_error_line(self) -> str:
        lines = [line for line in (self.stderr or self.stdout).splitlines() if line.strip()]
        return lines[-1].strip() if lines else ""


def run(command: list[str], env: dict[str, str], cwd: Path, timeout: int = 1800) -> Run:
    started = time.monotonic()
    try:
        done = subprocess.run(
            command, cwd=cwd, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=timeout
        )
        code, stdout, stderr = done.returncode, done.stdout, done.stderr
    except subprocess.TimeoutExpired as expired:
        code, stdout, stderr = -1, "", f"timed out after {expired.timeout}s"
    except OSError as error:
        code, stdout, stderr = -1, "", str(error)
    return Run(code, time.monotonic() - started, stdout, stderr)


def print_table(headings: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(cell)) for cell in column) for column in zip(headings, *rows)]
    for cells in [headings, ["-" * w for w in widths], *rows]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(cells, widths)).rstrip())


def python311() -> str:
    found = sorted(glob.glob("/root/.pyenv/versions/3.11*/bin/python"))
    return found[-1] if found else shutil.which("python3") or sys.executable


def python_minor(python: str) -> str:
    done = subprocess.run(
        [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"], capture_output=True, text=True
    )
    return done.stdout.strip()


def first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


# --- lockfile texts: where each package's entry is, and the edits that plant a fault ------------


@dataclass
class Entry:
    name: str
    start: int  # 0-based index of the entry's first line
    end: int  # one past its last line


def toml_entries(lines: list[str], key: str) -> list[Entry]:
    """The `[[KEY]]` entries of a TOML lock, each up to the next table that is not its own
    (`[KEY.x]`, `[[KEY.x]]` belong to it)."""
    entries: list[Entry] = []
    for index, line in enumerate(lines):
        # Table headers start their line; nested arrays inside values are indented.
        if not line.startswith("["):
            continue
        if entries and entries[-1].end < 0 and not line.startswith((f"[{key}.", f"[[{key}.")):
            entries[-1].end = index
        if line.strip() == f"[[{key}]]":
            entries.append(Entry("", index, -1))
    if entries and entries[-1].end < 0:
        entries[-1].end = len(lines)
    for entry in entries:
        for line in lines[entry.start + 1 : entry.end]:
            match = re.match(r'\s*name\s*=\s*"([^"]+)"', line)
            if match:
                entry.name = normalize(match.group(1))
                break
    return entries


def pipfile_entries(lines: list[str]) -> list[Entry]:
    """The packages of a Pipfile.lock's `default` and `develop`, as pipenv indents them."""
    entries: list[Entry] = []
    for index, line in enumerate(lines):
        match = re.match(r'^ {8}"([^"]+)": \{$', line)
        if match:
            entries.append(Entry(normalize(match.group(1)), index, -1))
        elif entries and entries[-1].end < 0 and re.match(r"^ {8}\}", line):
            entries[-1].end = index + 1
    return entries


@dataclass
class LockKind:
    """One lockfile format: its file name and how its package entries are found."""

    filename: str
    entries: Callable[[list[str]], list[Entry]]

    def find(self, text: str, name: str) -> list[Entry]:
        return [e for e in self.entries(text.splitlines()) if e.name == normalize(name)]

    def versions(self, text: str, name: str) -> list[str]:
        """The versions the lock pins `name` at."""
        lines = text.splitlines()
        found = []
        for entry in self.find(text, name):
            for line in lines[entry.start : entry.end]:
                match = re.match(r'\s*"?version"?\s*[:=]\s*"(?:==)?([^"]+)"', line)
                if match:
                    found.append(match.group(1))
                    break
        return found


KINDS = {
    "uv.lock": LockKind("uv.lock", lambda lines: toml_entries(lines, "package")),
    "pylock.toml": LockKind("pylock.toml", lambda lines: toml_entries(lines, "packages")),
    "poetry.lock": LockKind("poetry.lock", lambda lines: toml_entries(lines, "package")),
    "pdm.lock": LockKind("pdm.lock", lambda lines: toml_entries(lines, "package")),
    "Pipfile.lock": LockKind("Pipfile.lock", pipfile_entries),
}


@dataclass
class Fault:
    """A planted fault: the edited text, and where audit must report which package."""

    text: str
    package: str
    lines: list[int]  # 1-based; the finding must sit at one of them
    what: str


def first_sha256_line(kind: LockKind, text: str, package: str) -> tuple[list[str], int, re.Match]:
    lines = text.splitlines(keepends=True)
    for entry in kind.find(text, package):
        for index in range(entry.start, entry.end):
            match = SHA256.search(lines[index])
            if match:
                return lines, index, match
    raise LookupError(f"{kind.filename}: no sha256 in an entry of {package}")


def flip_hash(kind: LockKind, text: str) -> Fault:
    lines, index, match = first_sha256_line(kind, text, FLIP_PACKAGE)
    digits = match.group(2)
    flipped = format((int(digits[0], 16) + 1) % 16, "x") + digits[1:]
    lines[index] = lines[index][: match.start(2)] + flipped + lines[index][match.end(2) :]
    return Fault("".join(lines), FLIP_PACKAGE, [index + 1], f"{digits[:8]}… → {flipped[:8]}…")


def md5_hash(kind: LockKind, text: str) -> Fault:
    lines, index, match = first_sha256_line(kind, text, MD5_PACKAGE)
    md5 = hashlib.md5(match.group(2).encode()).hexdigest()
    lines[index] = lines[index][: match.start()] + "md5" + match.group(1) + md5 + lines[index][match.end() :]
    return Fault("".join(lines), MD5_PACKAGE, [index + 1], f"sha256 → md5:{md5[:8]}…")


def remove_package(kind: LockKind, text: str, dependents: set[str]) -> Fault:
    if kind.filename == "Pipfile.lock":
        data = json.loads(text)
        for section in ("default", "develop"):
            data.get(section, {}).pop(REMOVE_PACKAGE, None)
        # As pipenv writes it (a round trip of its own file is byte-identical).
        edited = json.dumps(data, indent=4, sort_keys=True) + "\n"
    else:
        lines = text.splitlines(keepends=True)
        for entry in reversed(kind.find(text, REMOVE_PACKAGE)):
            del lines[entry.start : entry.end]
        edited = "".join(lines)
    if kind.find(edited, REMOVE_PACKAGE) or edited == text:
        raise LookupError(f"{kind.filename}: could not remove {REMOVE_PACKAGE}")
    at = sorted(e.start + 1 for e in kind.entries(edited.splitlines()) if e.name in dependents)
    return Fault(edited, REMOVE_PACKAGE, at, f"entries of {REMOVE_PACKAGE} removed; its dependents: {', '.join(sorted(dependents))}")


def dependents_of(uv_lock: str, name: str) -> set[str]:
    """Who depends on `name`, by uv.lock's graph (the other formats lock the same tree)."""
    packages = tomllib.loads(uv_lock).get("package", [])
    return {
        normalize(p["name"])
        for p in packages
        if any(normalize(d.get("name", "")) == normalize(name) for d in p.get("dependencies", []))
        and "virtual" not in p.get("source", {})
        and "editable" not in p.get("source", {})
    }


# --- part A: the tools' lockfiles, audited ------------------------------------------------------


def make_tools_venv(venv: Path, env: dict[str, str]) -> None:
    if (venv / "bin" / "pipenv").exists():
        return
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", *TOOL_REQUIREMENTS], check=True, env=env)


def project_files(python_version: str) -> dict[str, str]:
    pyproject = '[project]\nname = "live-check"\nversion = "0.0.0"\nrequires-python = ">=3.9"\ndependencies = ["dds-cli"]\n'
    pipfile = f'[packages]\ndds-cli = "*"\n\n[requires]\npython_version = "{python_version}"\n'
    return {"pyproject.toml": pyproject, "Pipfile": pipfile}


LOCK_COMMANDS = [
    ("uv.lock", ["uv", "lock"]),
    ("pylock.toml", ["uv", "export", "--format", "pylock.toml", "-o", "pylock.toml", "-q"]),
    ("poetry.lock", ["poetry", "lock", "--no-interaction"]),
    ("pdm.lock", ["pdm", "lock"]),
    ("Pipfile.lock", ["pipenv", "lock"]),
]


def make_locks(work: Path, env: dict[str, str], python_version: str) -> dict[str, str]:
    """Each lock in its own project dir (Pipenv and the others do not share one). Returns the
    texts of the lockfiles that were made."""
    print("\n== lock tools")
    rows, texts = [], {}
    for filename, command in LOCK_COMMANDS:
        project = work / "projects" / ("uv" if command[0] == "uv" else command[0])
        project.mkdir(parents=True, exist_ok=True)
        for name, contents in project_files(python_version).items():
            if not (project / name).exists():
                (project / name).write_text(contents)
        done = run(command, env, project)
        made = done.code == 0 and (project / filename).exists()
        pins = ""
        if made:
            text = texts[filename] = (project / filename).read_text()
            kind = KINDS[filename]
            pins = f"{len(kind.entries(text.splitlines()))} entries, dds-cli {' '.join(kind.versions(text, 'dds-cli'))}"
        rows.append([filename, " ".join(command), str(done.code), f"{done.seconds:.1f}s", pins or done.first_error_line()])
    print_table(["lockfile", "command", "exit", "time", "locked (or error)"], rows)
    return texts


@dataclass
class Case:
    lockfile: str
    name: str
    text: str
    expect_code: int
    fault: Fault | None = None
    notes: list[str] = field(default_factory=list)


def findings_of(report: dict) -> list[dict]:
    return report.get("findings", []) + [f for p in report.get("packages", []) for f in p.get("findings", [])]


def summarized(findings: list[dict]) -> list[str]:
    """One line per (code, package): how many, the first one's location and message."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for finding in findings:
        groups.setdefault((str(finding.get("code")), str(finding.get("package"))), []).append(finding)
    return [
        f"{code} {package} ×{len(group)}, first at {group[0].get('location')}: {group[0].get('message')}"
        for (code, package), group in groups.items()
    ]


def audit(hashlock: str, case: Case, work: Path, env: dict[str, str]) -> list[str]:
    where = work / "cases" / f"{case.lockfile}-{case.name}"
    where.mkdir(parents=True, exist_ok=True)
    (where / case.lockfile).write_text(case.text)
    done = run([hashlock, "audit", case.lockfile, "--format", "json", "-q"], env, where)
    try:
        findings = findings_of(json.loads(done.stdout))
    except json.JSONDecodeError:
        findings = []
    verdict = done.code == case.expect_code
    expected_at, got_at, codes = "-", "-", ""
    if case.fault:
        wanted = {f"{case.lockfile}:{line}" for line in case.fault.lines}
        ours = [f for f in findings if f.get("package") == case.fault.package]
        at_fault = [f for f in ours if f.get("location") in wanted]
        verdict = verdict and bool(at_fault)
        expected_at = f"{case.fault.package} @ " + (",".join(f"{case.lockfile}:{n}" for n in case.fault.lines) or "(no line)")
        shown = at_fault or ours
        got_at = ",".join(sorted({str(f.get("location")) for f in shown})) or "(none for it)"
        codes = ",".join(sorted({f["code"] for f in shown}))
        case.notes.append(case.fault.what)
    elif findings:
        codes = ",".join(sorted({f["code"] for f in findings}))
    if done.code not in (0, 1):
        case.notes.append(done.first_error_line())
    elif not verdict:
        case.notes += summarized(findings)
    return [
        case.lockfile,
        case.name,
        str(case.expect_code),
        str(done.code),
        expected_at,
        got_at,
        codes,
        "PASS" if verdict else "FAIL",
        f"{done.seconds:.1f}s",
    ]


def cases_for(lockfile: str, text: str, dependents: set[str]) -> list[Case]:
    kind = KINDS[lockfile]
    cases = [Case(lockfile, "clean", text, 0)]
    for name, plant in [
        ("flipped-hash", lambda: flip_hash(kind, text)),
        ("removed-package", lambda: remove_package(kind, text, dependents)),
        ("md5-hash", lambda: md5_hash(kind, text)),
    ]:
        try:
            fault = plant()
        except LookupError as error:
            cases.append(Case(lockfile, name, "", 1, None, [f"not planted: {error}"]))
            continue
        cases.append(Case(lockfile, name, fault.text, 1, fault))
    return cases


def part_a(hashlock: str, work: Path, tools_env: dict[str, str], hashlock_env: dict[str, str], python: str) -> bool:
    texts = make_locks(work, tools_env, python_minor(python))
    dependents = dependents_of(texts.get("uv.lock", ""), REMOVE_PACKAGE)
    print(f"\n== hashlock audit (flip {FLIP_PACKAGE}, remove {REMOVE_PACKAGE}, md5 for {MD5_PACKAGE})")
    rows, notes = [], []
    for lockfile in KINDS:
        if lockfile not in texts:
            rows.append([lockfile, "-", "-", "-", "-", "-", "", "FAIL", "(lock tool failed)"])
            continue
        for case in cases_for(lockfile, texts[lockfile], dependents):
            if case.text:
                rows.append(audit(hashlock, case, work, hashlock_env))
            else:
                rows.append([lockfile, case.name, "1", "-", "-", "-", "", "FAIL", "-"])
            notes += [f"{lockfile} {case.name}: {note}" for note in case.notes]
    print_table(["lockfile", "case", "want", "exit", "expected finding at", "got at", "codes", "result", "time"], rows)
    if notes:
        print("\nnotes:")
        for note in notes:
            print(f"  {note}")
    return all(row[7] == "PASS" for row in rows)


# --- part B: hashlock's pylock.toml against uv's, and installed -----------------------------


def pylock_files(path: Path) -> dict[str, tuple[str, dict[str, str]]]:
    """normalised name -> (version, {filename: sha256}) of a pylock.toml."""
    packages = {}
    for package in tomllib.loads(path.read_text()).get("packages", []):
        files = {}
        for artifact in [package["sdist"]] if "sdist" in package else []:
            files[artifact_name(artifact)] = artifact.get("hashes", {}).get("sha256", "")
        for artifact in package.get("wheels", []):
            files[artifact_name(artifact)] = artifact.get("hashes", {}).get("sha256", "")
        packages[normalize(package["name"])] = (str(package.get("version", "")), files)
    return packages


def artifact_name(artifact: dict) -> str:
    return artifact.get("name") or (artifact.get("url") or artifact.get("path") or "").rsplit("/", 1)[-1]


def compare_pylocks(ours: Path, theirs: Path) -> bool:
    """Pins must agree; every file uv lists must be in hashlock's lock with the same sha256.
    hashlock may list more files (uv lists only those for the target)."""
    mine, uvs = pylock_files(ours), pylock_files(theirs)
    rows, same = [], True
    for name in sorted(set(mine) | set(uvs)):
        if name not in uvs or name not in mine:
            rows.append([name, mine.get(name, ("-",))[0], uvs.get(name, ("-",))[0], "only in one lock", "DIFF"])
            same = False
            continue
        (our_version, our_files), (uv_version, uv_files) = mine[name], uvs[name]
        missing = sorted(f for f in uv_files if f not in our_files)
        differ = sorted(f for f in uv_files if f in our_files and our_files[f] != uv_files[f])
        extra = len(set(our_files) - set(uv_files))
        problems = []
        if our_version != uv_version:
            problems.append("version differs")
        if missing:
            problems.append(f"hashlock lacks {', '.join(missing)}")
        if differ:
            problems.append(f"sha256 differs for {', '.join(differ)}")
        same = same and not problems
        detail = "; ".join(problems) or f"{len(uv_files)} file(s) agree" + (f", hashlock lists {extra} more" if extra else "")
        rows.append([name, our_version, uv_version, detail, "DIFF" if problems else "same"])
    print_table(["package", "hashlock", "uv", "sha256 per file", "pins"], rows)
    print(f"{len(mine)} packages in hashlock's lock, {len(uvs)} in uv's: {'they agree' if same else 'they DIFFER'}")
    return same


def install_row(installer: str, version: str, install: Run, dds: Run | None) -> list[str]:
    ran = dds is not None and dds.code == 0
    shown = (dds.stdout.strip().splitlines() or [""])[-1] if ran else (dds.first_error_line() if dds else "")
    ok = install.code == 0 and ran
    return [installer, version, str(install.code), f"{install.seconds:.1f}s", shown or install.first_error_line(), "PASS" if ok else "FAIL"]


def install_with_pip(lock_dir: Path, work: Path, env: dict[str, str], python: str) -> list[str]:
    venv = work / "venv-pip"
    subprocess.run([python, "-m", "venv", "--clear", str(venv)], check=True)
    upgraded = run([str(venv / "bin" / "pip"), "install", "-q", "pip>=26.3"], env, work)
    version = first_line(run([str(venv / "bin" / "pip"), "--version"], env, work).stdout).split(" from ")[0]
    if upgraded.code:
        return install_row("pip", version, upgraded, None)
    install = run([str(venv / "bin" / "pip"), "install", "-q", "-r", "pylock.toml"], env, lock_dir)
    dds = run([str(venv / "bin" / "dds"), "--version"], env, work) if install.code == 0 else None
    return install_row("pip install -r pylock.toml", version, install, dds)


def install_with_uv(uv: str, lock_dir: Path, work: Path, env: dict[str, str], python: str) -> list[str]:
    venv = work / "venv-uv"
    run([uv, "venv", "-q", "--clear", "-p", python, str(venv)], env, work)
    version = first_line(run([uv, "--version"], env, work).stdout)
    command = [uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python"), "--require-hashes", "-r", "pylock.toml"]
    install = run(command, env, lock_dir)
    dds = run([str(venv / "bin" / "dds"), "--version"], env, work) if install.code == 0 else None
    return install_row("uv pip install --require-hashes -r pylock.toml", version, install, dds)


def save_sample(lock: Path, sample: Path) -> None:
    """hashlock's pylock.toml with every URL's scheme and host replaced, paths kept. The hosts
    are learnt from the file itself, and must appear nowhere in the result."""
    text = lock.read_text()
    hosts = {re.sub(r"^https?://", "", base).split("@")[-1] for base in URL_BASE.findall(text)}
    rewritten, count = URL_BASE.subn(SAMPLE_BASE, text)
    left = sorted(h for h in hosts if h != SAMPLE_BASE.split("//")[1] and h in rewritten)
    if left:
        sys.exit(f"{sample}: not written, a host is still in it after the rewrite ({len(left)} left)")
    sample.parent.mkdir(parents=True, exist_ok=True)
    sample.write_text(rewritten)
    print(f"sample: {sample} ({count} URLs now at {SAMPLE_BASE})")


def part_b(hashlock: str, uv: str, work: Path, env: dict[str, str], python: str, sample: Path | None) -> bool:
    target = ["--python-version", "3.11", "--python-platform", "linux"]
    ours, theirs = work / "b-hashlock", work / "b-uv"
    for directory in (ours, theirs):
        directory.mkdir(parents=True, exist_ok=True)
    (theirs / "requirements.in").write_text("dds-cli\n")
    print("\n== pylock.toml for dds-cli (Python 3.11, linux)")
    made = [
        ("hashlock generate", run([hashlock, "generate", "dds-cli", *target, "-o", "pylock.toml", "-q"], env, ours), ours),
        (
            "uv pip compile",
            run([uv, "pip", "compile", "requirements.in", "--format", "pylock.toml", *target, "-o", "pylock.toml", "-q"], env, theirs),
            theirs,
        ),
    ]
    print_table(
        ["command", "exit", "time", "error"],
        [[what, str(done.code), f"{done.seconds:.1f}s", "" if done.code == 0 else done.first_error_line()] for what, done, _ in made],
    )
    if any(done.code or not (where / "pylock.toml").exists() for _, done, where in made):
        return False
    print()
    try:
        same = compare_pylocks(ours / "pylock.toml", theirs / "pylock.toml")
    except (tomllib.TOMLDecodeError, KeyError) as error:
        print(f"cannot compare: a pylock.toml does not read as one: {error!r}")
        return False
    if sample:
        save_sample(ours / "pylock.toml", sample)
    print("\n== installing hashlock's pylock.toml (fresh venvs, " + python + ")")
    rows = [install_with_pip(ours, work, env, python), install_with_uv(uv, ours, work, env, python)]
    print_table(["installer", "version", "exit", "time", "dds --version", "result"], rows)
    return same and all(row[-1] == "PASS" for row in rows)


def default_hashlock() -> str:
    for profile in ("release", "debug"):
        binary = ROOT / "target" / profile / "hashlock"
        if binary.exists():
            return str(binary)
    return str(ROOT / "target" / "release" / "hashlock")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hashlock", default=default_hashlock())
    parser.add_argument("--tools", type=Path, help="a venv with uv, poetry, pdm and pipenv (default: made in the work dir)")
    parser.add_argument("--work", type=Path, help="keep lockfiles and venvs here (default: a temporary dir)")
    parser.add_argument("--part", choices=["a", "b"], help="run only part A (audits) or B (generate and install)")
    parser.add_argument("--save-sample", type=Path, metavar="PATH")
    args = parser.parse_args()
    hashlock = str(Path(args.hashlock).resolve())
    scratch = None if args.work else tempfile.TemporaryDirectory(prefix="live-lockfiles-")
    work = (args.work or Path(scratch.name)).resolve()
    work.mkdir(parents=True, exist_ok=True)
    scratch_tmp = work / "tmp"
    scratch_tmp.mkdir(exist_ok=True)
    python = python311()
    base_env = {k: v for k, v in os.environ.items() if k != "PIP_FIND_LINKS"}
    tools = (args.tools or work / "tools").resolve()
    make_tools_venv(tools, base_env)
    tools_env = tool_env(tools / "bin", scratch_tmp, python)
    versions = [first_line(run([str(tools / "bin" / t), "--version"], tools_env, work).stdout) for t in TOOLS]
    head = subprocess.run(["git", "-C", str(ROOT), "log", "-1", "--format=%h %s"], capture_output=True, text=True).stdout
    print(f"hashlock: {hashlock} ({first_line(run([hashlock, '--version'], base_env, work).stdout)}); checkout at {head.strip()[:90]}")
    print(f"tools: {'; '.join(versions)}; python for pipenv and the installs: {python}")
    print(f"work dir: {work}")
    passed = True
    if args.part in (None, "a"):
        passed = part_a(hashlock, work, tools_env, base_env, python) and passed
    if args.part in (None, "b"):
        passed = part_b(hashlock, str(tools / "bin" / "uv"), work, base_env, python, args.save_sample) and passed
    print(f"\n{'ALL PASS' if passed else 'SOME FAILED'}")
    if scratch:
        scratch.cleanup()
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
