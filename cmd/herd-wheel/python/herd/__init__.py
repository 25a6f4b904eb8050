"""herd runs a pytest suite across supervised worker processes.

This package only finds herd's binary, which the wheel installs as the
``herd`` command, and runs it: ``python -m herd ARGS`` is ``herd ARGS`` with
this interpreter as the one whose pytest runs the tests (unless HERD_PYTHON
is set or --python is given). See https://github.com/herd-run/herd.
"""

import os
import sys
import sysconfig

__all__ = ["find_herd_bin", "main"]


def _candidates():
    exe = "herd" + (sysconfig.get_config_var("EXE") or "")
    # The scheme pip installed into: a virtualenv's bin/, or the system's.
    yield os.path.join(sysconfig.get_path("scripts"), exe)
    # pip install --user.
    if sys.version_info >= (3, 10):
        user = sysconfig.get_preferred_scheme("user")
    elif sys.platform == "darwin" and sys._framework:
        user = "osx_framework_user"
    else:
        user = os.name + "_user"
    try:
        yield os.path.join(sysconfig.get_path("scripts", scheme=user), exe)
    except KeyError:
        pass
    pkg_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    # pip install --target DIR: DIR/herd/ and DIR/bin/herd.
    yield os.path.join(pkg_root, "bin", exe)
    # pip install --prefix DIR: DIR/lib/pythonX.Y/site-packages/herd/ and
    # DIR/bin/herd.
    yield os.path.join(pkg_root, os.pardir, os.pardir, os.pardir, "bin", exe)


def find_herd_bin():
    """Return the path of herd's binary, installed with this package."""
    tried = []
    for path in _candidates():
        path = os.path.normpath(path)
        if path in tried:
            continue
        tried.append(path)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    raise FileNotFoundError(
        "herd: the herd binary of the pytest-herd package is not installed; looked at "
        + ", ".join(tried)
    )


def main(argv=None):
    """Run herd with argv (default: this process's arguments).

    On POSIX the binary replaces this process, so its exit code and the
    signals it gets are herd's own. HERD_PYTHON is set to this interpreter
    unless it is set already; --python on the command line overrides it.
    """
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        binary = find_herd_bin()
    except FileNotFoundError as e:
        print(e, file=sys.stderr)
        return 3
    env = dict(os.environ)
    if not env.get("HERD_PYTHON") and sys.executable:
        env["HERD_PYTHON"] = sys.executable
    if os.name == "posix":
        sys.stdout.flush()
        sys.stderr.flush()
        os.execve(binary, [binary] + args, env)
    import subprocess

    return subprocess.call([binary] + args, env=env)
