# Runs PEP 517 hooks of a source tree and writes each answer to a file (the backend's own output
# goes to a log hashlock reads):
#   requires BACKEND BACKEND_PATH_JSON OUT   get_requires_for_build_wheel of the tree in the
#                                            current directory, as a JSON list
#   metadata BACKEND BACKEND_PATH_JSON OUT   METADATA, from prepare_metadata_for_build_wheel
#                                            or else from the wheel build_wheel makes
#   serve MODULE BACKEND_PATH_JSON           imports the backend's module once, then runs each
#                                            request of stdin (ID HOOK OBJECT TREE OUT LOG LAYER,
#                                            each field ended by a NUL byte) in a fork of itself:
#                                            a fresh process per hook, as PEP 517 asks, without
#                                            importing the backend again, for any tree the
#                                            environment fits. OBJECT is the backend's object
#                                            within the module (empty for the module itself);
#                                            LAYER, unless empty, a site directory with the
#                                            tree's further build requirements. Requests run at
#                                            once; stdout answers "ID pid GROUP" when one starts
#                                            and "ID exit STATUS" when it ends
import gc
import importlib
import json
import os
import signal
import site
import sys
import tempfile
import traceback
import zipfile


def load_module(module, paths):
    for path in reversed(paths):
        sys.path.insert(0, os.path.abspath(path))
    return importlib.import_module(module.strip())


def backend_object(module, attribute):
    backend = module
    for part in filter(None, attribute.strip().split(".")):
        backend = getattr(backend, part)
    return backend


def load(spec, paths):
    module, _, attribute = spec.partition(":")
    return backend_object(load_module(module, paths), attribute)


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


def forked(hook, module, attribute, tree, out, log, layer):
    os.setpgid(0, 0)
    os.chdir(tree)
    # stdin is the protocol's: the backend reads nothing, and its prints go to the log.
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    logged = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(logged, 1)
    os.dup2(logged, 2)
    if layer:
        # After the environment's own site-packages, its .pth files run: as one environment.
        site.addsitedir(os.fsdecode(layer))
    importlib.invalidate_caches()
    code = 0
    try:
        run(hook, backend_object(module, attribute), out)
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


def answer(text):
    # One short write each: lines from several processes do not interleave in a pipe.
    os.write(1, text.encode())


def supervise(ident, hook, module, attribute, tree, out, log, layer):
    # Between the server and the hook: waits for the hook and says how it ended, so that the
    # server itself never waits and hooks of several trees run at once.
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    pid = os.fork()
    if pid == 0:
        forked(hook, module, attribute, tree, out, log, layer)
    try:
        os.setpgid(pid, pid)
    except OSError:
        pass  # it has set its group itself, or ended already
    answer("%s pid %d\n" % (ident, pid))
    _, status = os.waitpid(pid, 0)
    answer("%s exit %d\n" % (ident, os.waitstatus_to_exitcode(status)))
    os._exit(0)


def requests():
    fields, pending = [], b""
    while True:
        chunk = os.read(0, 65536)
        if not chunk:
            return
        *done, pending = (pending + chunk).split(b"\0")
        fields.extend(done)
        while len(fields) >= 7:
            yield fields[:7]
            del fields[:7]


def serve(module):
    # What the import made stays as it is: no fork's collector walks it (or copies its pages).
    gc.freeze()
    # Supervisors end on their own; nothing waits for them.
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    for ident, hook, attribute, tree, out, log, layer in requests():
        if os.fork() == 0:
            supervise(ident.decode(), hook.decode(), module, attribute.decode(), tree, out, log, layer)


def main():
    if sys.argv[1] == "serve":
        serve(load_module(sys.argv[2], json.loads(sys.argv[3])))
        return
    hook, spec, paths, out = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4]
    run(hook, load(spec, paths), out)


main()
