#!/usr/bin/env python3
"""End to end: hashlock vs uv side by side on the trees of issue 13, against the live index.

Nothing is configured for either tool: every PIP_* and UV_* variable is removed from both
environments. hashlock learns pip's default index itself, as a user's first run would (from
the installed pip's files, else by asking `pip install --help`); uv is told the same index as
UV_INDEX_URL, learned from pip here, and an interpreter (--python python3,
UV_PYTHON_DOWNLOADS=never) so that its time has no interpreter search in it. --given-index
passes --index-url to hashlock too, to see what learning the index costs.

The tools alternate round by round so that network and machine noise hit both alike. Per case
and mode, one line: the median wall time of each tool, the median of the per-round ratios
hashlock/uv and the ratios themselves, peak RSS median/max (from /usr/bin/time), and
hashlock's --verbose summary line from round 0 (requests, KiB); a table of all at the end.

Cases (each resolved for its own CPython version): dds-cli (3.11), jupyter (3.12),
airflow = apache-airflow[amazon,google,cncf.kubernetes] (3.12), homeassistant (3.13).
Modes:

- cold: `hashlock generate` vs `uv pip compile --generate-hashes`, a fresh cache every run;
- warm: the same with one primed cache per tool and --offline (skip with --cold-only CASE);
- audit (opt-in, --audit): `hashlock audit` of hashlock's requirements file vs uv re-locking
  that file (`uv pip compile --generate-hashes FILE`), both cold: uv cannot check a lockfile
  against the index, re-locking it asks the index for the same pages, metadata and hashes;
- installed (opt-in, --installed, slow: pip installs the whole tree first, with the case's
  python3.X): `hashlock verify FILE --installed VENV`, cold, timed alone and printed as an
  absolute: uv has no equivalent (`uv pip check` reads installed metadata only, no file).

Correctness, per case: hashlock's output byte-identical cold vs warm, and "uv accepts
hashlock's pins": uv, given the root requirement plus every name==version of hashlock's output,
resolves to exactly those pins.

    env -u PIP_FIND_LINKS SSL_CERT_FILE=$PIP_CERT benches/e2e.py \\
        [--cases dds-cli jupyter airflow homeassistant] [--rounds 5] [--cold-only CASE ...] \\
        [--given-index] [--audit] [--installed] [--uv PATH] [--hashlock PATH]

Needs network access to the index; never run by the tests. uv: --uv, else the one on PATH,
else installed from the index into target/bench-venv. hashlock: --hashlock, else built here.
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent

# Short name -> (root requirement, CPython version to resolve for).
CASES = {
    "dds-cli": ("dds-cli", "3.11"),
    "jupyter": ("jupyter", "3.12"),
    "airflow": ("apache-airflow[amazon,google,cncf.kubernetes]", "3.12"),
    "homeassistant": ("homeassistant", "3.13"),
}
TOOLS = ("hashlock", "uv")


@dataclass
class Run:
    wall: float
    rss_kib: int
    stderr: str


def find_uv(given: str | None) -> str:
    if given:
        return given
    uv = shutil.which("uv")
    if uv:
        return uv
    venv = ROOT / "target" / "bench-venv"
    uv = venv / "bin" / "uv"
    if not uv.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "uv"], check=True)
    return str(uv)


def learn_index(env: dict) -> str:
    """The index hashlock picks when nothing is set: pip's configured index-url, else pip's
    built-in default (printed by `pip install --help` with configuration off)."""
    listed = subprocess.run(["pip", "config", "list"], capture_output=True, text=True, env=env).stdout
    configured = dict(re.findall(r"^(global|install)\.index-url='(.*)'$", listed, re.M))
    if configured:
        return configured.get("install", configured.get("global"))
    help_words = subprocess.run(
        ["pip", "install", "--help"], capture_output=True, text=True, env={**env, "PIP_CONFIG_FILE": os.devnull}
    ).stdout.split()
    return help_words[help_words.index("(default") + 1].rstrip(").")


def timed(cmd: list[str], env: dict, cwd: Path) -> Run:
    """Wall seconds, peak RSS and stderr of one run, which must succeed."""
    cwd.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], capture_output=True, text=True, env=env, cwd=cwd)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-2000:]}")
    *stderr, rss = proc.stderr.strip().splitlines()
    return Run(wall, int(rss), "\n".join(stderr))


def alternate(rounds: int, runners: dict[str, Callable[[int], Run]]) -> dict[str, list[Run]]:
    """Each runner once per round, the order flipped every other round."""
    runs: dict[str, list[Run]] = {tool: [] for tool in runners}
    for round_ in range(rounds):
        order = list(runners) if round_ % 2 == 0 else list(reversed(runners))
        for tool in order:
            runs[tool].append(runners[tool](round_))
    return runs


def hashlock_summary(stderr: str) -> str:
    """hashlock's --verbose cost line (`hashlock: N packages ...` or `... wheel(s) ...`)."""
    found = re.search(r"^hashlock: \d+ (packages|wheel).*$", stderr, re.M)
    return found.group(0) if found else "(no summary line)"


def pins(requirements: str) -> set[str]:
    """The name==version pins of a requirements file, names normalised (PEP 503)."""
    found = re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)", requirements, re.M)
    return {f"{re.sub(r'[-_.]+', '-', name).lower()}=={version}" for name, version in found}


def interpreter(version: str) -> str:
    """A python{version} that runs: on PATH, else one pyenv installed (its shims may refuse)."""
    pyenv = Path.home().glob(f".pyenv/versions/{version}.*/bin/python{version}")
    for candidate in [f"python{version}", *map(str, pyenv)]:
        if subprocess.run([candidate, "--version"], capture_output=True).returncode == 0:
            return candidate
    sys.exit(f"no working python{version} for --installed")


def report(case: str, mode: str, runs: dict[str, list[Run]], table: list[tuple]) -> None:
    """One line for a case and mode (uv's columns only when uv ran), kept for the table."""
    wall = {tool: statistics.median(r.wall for r in rs) for tool, rs in runs.items()}
    rss = {
        tool: (statistics.median(r.rss_kib for r in rs) / 1024, max(r.rss_kib for r in rs) / 1024)
        for tool, rs in runs.items()
    }
    line = f"{case:13} {mode:9} hashlock {wall['hashlock']:7.3f}s"
    ratio = "-"
    if "uv" in runs:
        ratios = [h.wall / u.wall for h, u in zip(runs["hashlock"], runs["uv"])]
        ratio = f"{statistics.median(ratios):.2f}"
        line += f"  uv {wall['uv']:7.3f}s  median ratio {ratio} ({' '.join(f'{r:.2f}' for r in ratios)})"
    line += "  peak RSS median/max: " + ", ".join(f"{tool} {med:.1f}/{top:.1f} MiB" for tool, (med, top) in rss.items())
    print(line)
    print(f"{'':13} {'':9} {hashlock_summary(runs['hashlock'][0].stderr)}")
    uv_wall = f"{wall['uv']:.3f}" if "uv" in runs else "-"
    uv_rss = "{:.1f}/{:.1f}".format(*rss["uv"]) if "uv" in runs else "-"
    hashlock_rss = "{:.1f}/{:.1f}".format(*rss["hashlock"])
    table.append((case, mode, f"{wall['hashlock']:.3f}", uv_wall, ratio, hashlock_rss, uv_rss))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--cold-only", nargs="+", choices=CASES, default=[], help="cases not timed warm")
    parser.add_argument("--given-index", action="store_true", help="pass --index-url to hashlock too")
    parser.add_argument("--audit", action="store_true", help="also time hashlock audit vs uv re-locking")
    parser.add_argument("--installed", action="store_true", help="also time hashlock verify --installed (slow)")
    parser.add_argument("--platform", default="linux")
    parser.add_argument("--uv", help="the uv binary")
    parser.add_argument("--hashlock", help="the hashlock binary (default: build it with cargo --release)")
    args = parser.parse_args()

    hashlock = args.hashlock
    if not hashlock:
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
        hashlock = str(Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release" / "hashlock")
    uv = find_uv(args.uv)
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    index = learn_index(base_env)
    uv_env = {**base_env, "UV_INDEX_URL": index, "UV_PYTHON_DOWNLOADS": "never"}
    index_args = ["--index-url", index] if args.given_index else []
    work = Path(tempfile.mkdtemp(prefix="hashlock-bench-"))
    versions = [subprocess.run([t, "--version"], capture_output=True, text=True).stdout.strip() for t in (hashlock, uv)]

    print(f"{versions[0]} vs {versions[1]} on {args.platform}, {args.rounds} alternating rounds")
    told = "given to hashlock as --index-url" if args.given_index else "learned by hashlock"
    print(f"index: {told}; uv: UV_INDEX_URL, --python python3")
    if args.audit:
        print("audit: hashlock audit FILE vs uv pip compile --generate-hashes FILE (a re-lock), both cold")
    if args.installed:
        print("installed: hashlock verify FILE --installed VENV, cold, alone (uv has no equivalent)")
    table: list[tuple] = []
    for case in args.cases:
        requirement, python = CASES[case]
        dir_ = work / case
        target = ["--python-version", python, "--python-platform", args.platform]
        dir_.mkdir(parents=True)
        (dir_ / "in.txt").write_text(requirement + "\n")
        caches = {tool: dir_ / f"cache-{tool}" for tool in TOOLS}

        def generate(tool: str, cwd: Path, cache: Path, offline: bool) -> Run:
            flags = ["--cache-dir", str(cache), "-o", "requirements.txt", *(["--offline"] if offline else [])]
            if tool == "hashlock":
                # -v, not -q: they conflict, and -v prints the summary line.
                return timed([hashlock, "generate", requirement, *target, *index_args, "-v", *flags], base_env, cwd)
            uv_cmd = [uv, "pip", "compile", "--generate-hashes", "--python", "python3", *target, "-q"]
            return timed([*uv_cmd, str(dir_ / "in.txt"), *flags], uv_env, cwd)

        modes = ["cold"] + ([] if case in args.cold_only else ["warm"])
        for mode in modes:
            if mode == "warm":
                for tool in TOOLS:
                    generate(tool, dir_ / f"prime-{tool}", caches[tool], False)

            def runner(tool: str, mode: str = mode) -> Callable[[int], Run]:
                def run(round_: int) -> Run:
                    cwd = dir_ / f"{mode}-{tool}-{round_}"
                    return generate(tool, cwd, caches[tool] if mode == "warm" else cwd / "cache", mode == "warm")

                return run

            report(case, mode, alternate(args.rounds, {tool: runner(tool) for tool in TOOLS}), table)

        locked = dir_ / "cold-hashlock-0" / "requirements.txt"
        if "warm" in modes:
            identical = locked.read_bytes() == (dir_ / "warm-hashlock-0" / "requirements.txt").read_bytes()
            print(f"{case:13} hashlock output byte-identical cold vs warm: {'yes' if identical else 'NO'}")
        given = pins(locked.read_text())
        (dir_ / "pins.in").write_text("\n".join([requirement, *sorted(given)]) + "\n")
        check = [uv, "pip", "compile", "--python", "python3", *target, "--cache-dir", str(caches["uv"]), "-q"]
        timed([*check, str(dir_ / "pins.in"), "-o", "check.txt"], uv_env, dir_)
        accepted = pins((dir_ / "check.txt").read_text())
        if accepted == given:
            verdict = "yes"
        else:
            verdict = f"NO: uv adds {sorted(accepted - given)}, drops {sorted(given - accepted)}"
        print(f"{case:13} uv accepts hashlock's pins: {verdict} ({len(given)} pins)")

        if args.audit:

            def auditor(tool: str) -> Callable[[int], Run]:
                def run(round_: int) -> Run:
                    cwd = dir_ / f"audit-{tool}-{round_}"
                    cache = ["--cache-dir", str(cwd / "cache")]
                    if tool == "hashlock":
                        cmd = [hashlock, "audit", str(locked), *target, *index_args, *cache, "-v", "--fail-on", "error"]
                        return timed(cmd, base_env, cwd)
                    cmd = [uv, "pip", "compile", "--generate-hashes", "--python", "python3", *target, *cache, "-q"]
                    return timed([*cmd, str(locked), "-o", "relocked.txt"], uv_env, cwd)

                return run

            report(case, "audit", alternate(args.rounds, {tool: auditor(tool) for tool in TOOLS}), table)

        if args.installed:
            venv = dir_ / "venv"
            subprocess.run([interpreter(python), "-m", "venv", str(venv)], check=True, env=base_env)
            pip = [str(venv / "bin" / "pip"), "--disable-pip-version-check", "-q"]
            install = [*pip, "install", "--require-hashes", "-r", str(locked)]
            subprocess.run(install, check=True, env=base_env)

            def verify(round_: int) -> Run:
                cwd = dir_ / f"installed-{round_}"
                cmd = [hashlock, "verify", str(locked), "--installed", str(venv), *index_args, "--cache-dir"]
                return timed([*cmd, str(cwd / "cache"), "-v", "--fail-on", "error"], base_env, cwd)

            report(case, "installed", alternate(args.rounds, {"hashlock": verify}), table)

    header = ("case", "mode", "hashlock s", "uv s", "ratio", "hashlock RSS MiB", "uv RSS MiB")
    widths = [max(len(str(row[i])) for row in [header, *table]) for i in range(len(header))]
    print()
    for row in [header, *table]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip())
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
