# Runs one PEP 517 hook of the source tree in the current directory and writes its answer to a
# file (the backend's own output goes to stdout and stderr, which hashlock captures):
#   requires BACKEND BACKEND_PATH_JSON OUT   get_requires_for_build_wheel, as a JSON list
#   metadata BACKEND BACKEND_PATH_JSON OUT   METADATA, from prepare_metadata_for_build_wheel
#                                            or else from the wheel build_wheel makes
#   serve BACKEND BACKEND_PATH_JSON          imports the backend once, then runs each `HOOK OUT`
#                                            line of stdin in a fork of itself (a fresh process
#                                            per hook, as PEP 517 asks, without importing the
#                                            backend again) and answers each with its exit
#                                            status on a line of stdout
import importlib
import json
import os
import sys
import tempfile
import traceback
import zipfile


def load(spec, paths):
    for path in reversed(paths):
        sys.path.insert(0, os.path.abspath(path))
    module, _, attribute = spec.partition(":")
    backend = importlib.import_module(module.strip())
    for part in filter(None, attribute.strip().split(".")):
        backend = getattr(backend, part)
    return backend


def metadata(backend):
    work = tempfile.mkdtemp()
    prepare = getattr(backend, "prepare_metadata_for_build_wheel", None)
    if prepare is not None:
        with open(os.path.join(work, prepare(work, {}), "METADATA"), "rb") as f:
            return f.read()
    with zipfile.ZipFile(os.path.join(work, backend.build_wheel(work, {}))) as wheel:
        names = [n for n in wheel.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA")]
        if not names:
            raise SystemExit("the wheel build_wheel made has no .dist-info/METADATA")
        return wheel.read(names[0])


def run(hook, backend, out):
    if hook == "requires":
        get = getattr(backend, "get_requires_for_build_wheel", None)
        answer = json.dumps([str(r) for r in (get({}) if get else [])]).encode()
    else:
        answer = metadata(backend)
    with open(out, "wb") as f:
        f.write(answer)


def forked(hook, backend, out):
    # stdout is the protocol's: the backend's prints go to the log with stderr.
    os.dup2(2, 1)
    importlib.invalidate_caches()
    code = 0
    try:
        run(hook, backend, out)
    except SystemExit as e:
        if e.code is not None and not isinstance(e.code, int):
            print(e.code, file=sys.stderr)
        code = e.code if isinstance(e.code, int) else 1
    except BaseException:
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def serve(backend):
    for line in sys.stdin:
        hook, _, out = line.rstrip("\n").partition(" ")
        pid = os.fork()
        if pid == 0:
            forked(hook, backend, out)
        _, status = os.waitpid(pid, 0)
        sys.stdout.write("%d\n" % os.waitstatus_to_exitcode(status))
        sys.stdout.flush()


def main():
    if sys.argv[1] == "serve":
        serve(load(sys.argv[2], json.loads(sys.argv[3])))
        return
    hook, spec, paths, out = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4]
    run(hook, load(spec, paths), out)


main()
