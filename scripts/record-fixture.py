#!/usr/bin/env python3
"""Record a hermetic copy of a package index's data for a pinned dependency tree.

Reads `name==version` pins (one a line, `#` comments allowed) and, for every project named there
or with --extra-project, fetches its simple-API JSON page from the configured index. It keeps,
for every file, the filename, hashes, requires-python, yanked state and size, and drops every URL
(the test server serves its own). It attaches the core metadata (METADATA / PKG-INFO headers) of
each pinned version, of each --also version, and of each project's newest final, non-yanked
version, to one file of that version, so a resolver running against the test server sees the
same dependency graph, including the versions it prefetches or backtracks through.

The index is the one pip would use: PIP_INDEX_URL, else the default that `pip install --help`
prints when no pip configuration applies. Nothing here names a host.

Output: gzip (mtime 0) of JSON with sorted keys:
  {"projects": {"<normalised name>": [{"filename", "hashes", "requires_python", "yanked",
                                       "size", "metadata"}]}}
Metadata is scrubbed of links: the long description and the URL headers are dropped and any
remaining link or index host is replaced, so the fixture contains no URL at all.

Usage: scripts/record-fixture.py PINS OUT.json.gz [--also name==version|name<version]...
                                 [--extra-project name]...
"""

import argparse
import concurrent.futures
import email.parser
import gzip
import io
import json
import os
import re
import ssl
import subprocess
import sys
import tarfile
import urllib.parse
import urllib.request
import zipfile

SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"
URL_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://\S*")
# Headers that only carry links or prose; a resolver needs none of them.
DROPPED_HEADERS = {"description", "home-page", "download-url", "project-url", "description-content-type"}
SDIST_SUFFIXES = (".tar.gz", ".tar.bz2", ".tar.xz", ".tgz", ".zip", ".tar")


def normalise(name):
    return re.sub(r"[-_.]+", "-", name).lower()


# --- a small PEP 440 parser: enough to order releases and tell pre-releases apart ---------------

VERSION_RE = re.compile(
    r"""^\s*v?(?:(?P<epoch>\d+)!)?(?P<release>\d+(?:\.\d+)*)
    (?:[-_.]?(?P<pre_l>a|b|c|rc|alpha|beta|pre|preview)[-_.]?(?P<pre_n>\d+)?)?
    (?:-(?P<post_n1>\d+)|[-_.]?(?P<post_l>post|rev|r)[-_.]?(?P<post_n2>\d+)?)?
    (?:[-_.]?(?P<dev_l>dev)[-_.]?(?P<dev_n>\d+)?)?
    (?:\+(?P<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?\s*$""",
    re.VERBOSE | re.IGNORECASE,
)
PRE_RANK = {"a": 0, "alpha": 0, "b": 1, "beta": 1, "c": 2, "rc": 2, "pre": 2, "preview": 2}


class Version:
    """A parsed PEP 440 version; instances compare in PEP 440 order (local labels ignored)."""

    def __init__(self, text):
        m = VERSION_RE.match(text)
        if not m:
            raise ValueError(f"not a PEP 440 version: {text!r}")
        release = [int(p) for p in m["release"].split(".")]
        while len(release) > 1 and release[-1] == 0:
            release.pop()
        pre = (PRE_RANK[m["pre_l"].lower()], int(m["pre_n"] or 0)) if m["pre_l"] else None
        post_n = m["post_n1"] or m["post_n2"]
        post = int(post_n or 0) if (m["post_l"] or m["post_n1"]) else None
        dev = int(m["dev_n"] or 0) if m["dev_l"] else None
        self.is_prerelease = pre is not None or dev is not None
        inf, ninf = (float("inf"),), (float("-inf"),)
        self.key = (
            int(m["epoch"] or 0),
            tuple(release),
            # A bare dev release sorts before every pre-release of the same release.
            ninf if pre is None and post is None and dev is not None else (pre if pre else inf),
            (post,) if post is not None else ninf,
            (dev,) if dev is not None else inf,
        )

    def __eq__(self, other):
        return isinstance(other, Version) and self.key == other.key

    def __lt__(self, other):
        return self.key < other.key

    def __hash__(self):
        return hash(self.key)


def parse_version(text):
    try:
        return Version(text)
    except ValueError:
        return None


def file_version(filename, project):
    """The version string a distribution filename carries, or None for forms we cannot read."""
    if filename.endswith(".whl"):
        parts = filename[:-4].split("-")
        return parts[1] if len(parts) >= 5 else None
    stem = next((filename[: -len(s)] for s in SDIST_SUFFIXES if filename.endswith(s)), None)
    if stem is None:
        return None  # eggs, installers and other legacy forms
    for i, ch in enumerate(stem):
        if ch == "-" and normalise(stem[:i]) == project:
            return stem[i + 1 :]
    return stem.rsplit("-", 1)[1] if "-" in stem else None


# --- network -----------------------------------------------------------------------------------


def ssl_context():
    cafile = os.environ.get("PIP_CERT") or "/etc/ssl/certs/ca-certificates.crt"
    return ssl.create_default_context(cafile=cafile if os.path.exists(cafile) else None)


CONTEXT = ssl_context()


def fetch(url, accept=None):
    headers = {"User-Agent": "hashlock-record-fixture"}
    if accept:
        headers["Accept"] = accept
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, context=CONTEXT, timeout=120) as response:
        return response.read()


def index_url():
    """PIP_INDEX_URL, else the default pip prints when no configuration applies."""
    if os.environ.get("PIP_INDEX_URL"):
        return os.environ["PIP_INDEX_URL"].rstrip("/")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    out = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--help"], env=env, capture_output=True, text=True, check=True
    ).stdout
    m = re.search(r"--index-url.*?\(default\s+(\S+?)\)", out, re.DOTALL)
    if not m:
        sys.exit("record-fixture: cannot find the default index URL in `pip install --help`")
    return m[1].rstrip("/")


# --- metadata ----------------------------------------------------------------------------------


def scrub_metadata(raw, hosts):
    """Keep the metadata headers a resolver reads, with no link and no index host left in them."""
    message = email.parser.Parser().parsestr(raw, headersonly=True)
    lines = []
    for key, value in message.items():
        if key.lower() in DROPPED_HEADERS:
            continue
        value = scrub_text(" ".join(str(value).split()), hosts)
        lines.append(f"{key}: {value}")
    return "\n".join(lines) + "\n"


def scrub_text(text, hosts):
    text = URL_RE.sub("<link>", text)
    for host in hosts:
        text = re.sub(re.escape(host), "<host>", text, flags=re.IGNORECASE)
    return text


def metadata_from_archive(data, filename):
    if filename.endswith(".whl"):
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = [n for n in zf.namelist() if re.fullmatch(r"[^/]+\.dist-info/METADATA", n)]
            return zf.read(names[0]).decode("utf-8", "replace") if names else None
    if filename.endswith(".zip"):
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = sorted((n for n in zf.namelist() if n.count("/") == 1 and n.endswith("/PKG-INFO")), key=len)
            return zf.read(names[0]).decode("utf-8", "replace") if names else None
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        members = [m for m in tf.getmembers() if m.name.count("/") == 1 and m.name.endswith("/PKG-INFO")]
        if not members:
            return None
        extracted = tf.extractfile(members[0])
        return extracted.read().decode("utf-8", "replace") if extracted else None


def wheel_rank(filename):
    """Lower is better: pure wheels, then CPython 3.11 manylinux x86_64, then any wheel."""
    tags = filename[:-4].split("-")[-3:]
    if tags[1] == "none" and tags[2] == "any" and "py3" in tags[0].split("."):
        return 0
    if ("cp311" in tags[0] or "abi3" in tags[1]) and "manylinux" in tags[2] and "x86_64" in tags[2]:
        return 1
    return 2


def choose_file(files):
    """The file whose metadata to record: the best wheel (PEP 658 first), else an sdist."""
    wheels = [f for f in files if f["filename"].endswith(".whl")]
    if wheels:
        return min(wheels, key=lambda f: (not has_core_metadata(f), wheel_rank(f["filename"]), f["filename"]))
    sdists = [f for f in files if f["filename"].endswith(SDIST_SUFFIXES)]
    return min(sdists, key=lambda f: f["filename"]) if sdists else None


def has_core_metadata(f):
    return any(f.get(key) for key in ("core-metadata", "data-dist-info-metadata", "dist-info-metadata"))


def record_metadata(f, hosts):
    if has_core_metadata(f):
        raw = fetch(f["url"] + ".metadata").decode("utf-8", "replace")
    else:
        raw = metadata_from_archive(fetch(f["url"]), f["filename"])
    if raw is None:
        raise RuntimeError(f"no metadata in {f['filename']}")
    return scrub_metadata(raw, hosts)


# --- main --------------------------------------------------------------------------------------


def parse_pin(text):
    m = re.fullmatch(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(==|<)\s*(\S+)\s*", text)
    if not m:
        sys.exit(f"record-fixture: expected name==version or name<version, got {text!r}")
    return normalise(m[1]), m[2], m[3]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pins", help="file of name==version lines")
    parser.add_argument("out", help="output .json.gz")
    parser.add_argument("--also", action="append", default=[], help="name==version, or name<bound for the newest below")
    parser.add_argument("--extra-project", action="append", default=[], help="another project to record")
    args = parser.parse_args()

    with open(args.pins, encoding="utf-8") as fh:
        pins = [parse_pin(line.split("#", 1)[0]) for line in fh if line.split("#", 1)[0].strip()]
    if any(op != "==" for _, op, _ in pins):
        sys.exit("record-fixture: the pins file takes name==version lines only")
    extras = [parse_pin(a) for a in args.also]
    projects = sorted({n for n, _, _ in pins + extras} | {normalise(p) for p in args.extra_project})

    index = index_url()
    print(f"record-fixture: {len(projects)} projects from the configured index", file=sys.stderr)

    def page(project):
        return project, json.loads(fetch(f"{index}/{project}/", SIMPLE_JSON))

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        pages = dict(pool.map(page, projects))

    hosts = {urllib.parse.urlsplit(index).hostname}
    for data in pages.values():
        for f in data["files"]:
            hosts.add(urllib.parse.urlsplit(urllib.parse.urljoin(index + "/", f["url"])).hostname)
            f["url"] = urllib.parse.urljoin(f"{index}/{data['name']}/", f["url"])
    hosts.discard(None)

    # Which (project, version) pairs need metadata, and why.
    wanted = {}  # (project, Version) -> reason
    by_version = {}  # project -> {Version: [file]}
    for project, data in pages.items():
        versions = by_version.setdefault(project, {})
        for f in data["files"]:
            text = file_version(f["filename"], project)
            v = parse_version(text) if text else None
            if v is not None:
                versions.setdefault(v, []).append(f)

    def final_versions(project, below=None):
        return [
            v
            for v, files in by_version[project].items()
            if not v.is_prerelease
            and not all(f.get("yanked") for f in files)
            and (below is None or v < below)
            and choose_file(files) is not None
        ]

    missing = []
    for project, op, text in pins + extras:
        if op == "==":
            v = parse_version(text)
            if v is None or v not in by_version[project]:
                missing.append(f"{project}=={text}")
                continue
        else:
            candidates = final_versions(project, parse_version(text))
            if not candidates:
                missing.append(f"{project}<{text}")
                continue
            v = max(candidates)
        wanted.setdefault((project, v), f"{project}{op}{text}")
    for project in projects:
        candidates = final_versions(project)
        if candidates:
            wanted.setdefault((project, max(candidates)), f"newest {project}")
    if missing:
        sys.exit(f"record-fixture: not on the index: {', '.join(missing)}")

    jobs = {}
    for project, v in wanted:
        f = choose_file(by_version[project][v])
        if f is None:
            sys.exit(f"record-fixture: {project} {wanted[(project, v)]} has no wheel or sdist")
        jobs[(project, f["filename"])] = f

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = dict(zip(jobs, pool.map(lambda f: record_metadata(f, hosts), jobs.values())))

    out = {"projects": {}}
    n_files = 0
    for project, data in sorted(pages.items()):
        entries = []
        for f in sorted(data["files"], key=lambda f: f["filename"]):
            yanked = f.get("yanked", False)
            if isinstance(yanked, str):
                yanked = scrub_text(yanked, hosts)
            entries.append(
                {
                    "filename": f["filename"],
                    "hashes": dict(f.get("hashes", {})),
                    "requires_python": f.get("requires-python") or None,
                    "yanked": yanked,
                    "size": f.get("size"),
                    "metadata": results.get((project, f["filename"])),
                }
            )
        n_files += len(entries)
        out["projects"][project] = entries

    text = json.dumps(out, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    if "://" in text or any(h.lower() in text.lower() for h in hosts):
        sys.exit("record-fixture: a link or index host survived scrubbing; refusing to write")
    blob = gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0)
    with open(args.out, "wb") as fh:
        fh.write(blob)
    print(
        f"record-fixture: {len(out['projects'])} projects, {n_files} files, "
        f"{len(results)} metadata recorded; wrote {args.out} ({len(blob)} bytes)"
    )


if __name__ == "__main__":
    main()
