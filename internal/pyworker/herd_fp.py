"""Fingerprint project files for herd's controller, as its workers do.

herd runs this with the suite's interpreter: ``python herd_fp.py``, with
``{"root": ROOTDIR, "files": [{"p": PATH, "content_b64": DATA}, ...]}`` on
stdin. PATH is relative to ROOTDIR with forward slashes; DATA, when given,
is the file's content (a git revision's version of it), else the file is
read from disk as it is now. It writes ``{"files": {PATH: {"sha": HEX,
"parts": {...}}}}`` on stdout, with ``{"missing": true}`` for a file that
does not exist. The fingerprints are those of herd_worker/fingerprint.py,
which this loads on its own: it never imports pytest, so it starts fast.

On a bad input it prints one line, ``herd_fp: ...``, on stderr and exits
with status 2.
"""

import base64
import binascii
import importlib.util
import json
import os
import sys


def _load_fingerprint():
    """herd_worker/fingerprint.py from beside this script, without the
    package's __init__ (which imports pytest)."""
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, "herd_worker", "fingerprint.py")
    spec = importlib.util.spec_from_file_location("herd_worker_fingerprint", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class BadInput(Exception):
    """The input is not what herd_fp.py reads."""


def run(request, fp):
    """The answer to one request (the decoded stdin)."""
    if not isinstance(request, dict):
        raise BadInput("the input is not a JSON object")
    root = request.get("root")
    files = request.get("files")
    if not isinstance(root, str) or not root:
        raise BadInput('"root" is not a directory name')
    if not isinstance(files, list):
        raise BadInput('"files" is not a list')
    out = {}
    for entry in files:
        if not isinstance(entry, dict) or not isinstance(entry.get("p"), str) or not entry["p"]:
            raise BadInput("a file entry without a path: %s" % json.dumps(entry)[:200])
        rel = entry["p"]
        content = entry.get("content_b64")
        if content is not None:
            if not isinstance(content, str):
                raise BadInput("%s: content_b64 is not a string" % rel)
            try:
                data = base64.b64decode(content, validate=True)
            except (binascii.Error, ValueError) as exc:
                raise BadInput("%s: content_b64: %s" % (rel, exc))
        else:
            try:
                with open(os.path.join(root, *rel.split("/")), "rb") as f:
                    data = f.read()
            except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
                out[rel] = {"missing": True}
                continue
            except OSError as exc:
                raise BadInput("%s: %s" % (rel, exc.strerror or exc))
        result = fp.fingerprint(rel, data)
        del result["p"]
        out[rel] = result
    return {"files": out}


def main():
    try:
        fp = _load_fingerprint()
        try:
            request = json.loads(sys.stdin.buffer.read())
        except ValueError as exc:
            raise BadInput("the input is not JSON: %s" % exc)
        answer = run(request, fp)
        sys.stdout.write(json.dumps(answer, separators=(",", ":"), sort_keys=True) + "\n")
        sys.stdout.flush()
    except BadInput as exc:
        sys.stderr.write("herd_fp: %s\n" % exc)
        return 2
    except Exception as exc:  # never a traceback: one line for herd
        sys.stderr.write("herd_fp: %s: %s\n" % (type(exc).__name__, str(exc).splitlines()[0] if str(exc) else ""))
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
