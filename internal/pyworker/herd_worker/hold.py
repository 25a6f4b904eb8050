"""Holding a worker started ahead of its run (herd watch's warm pool).

With HERD_HOLD=1 the worker stops after its session message, configured
but before collection, sends ``held`` and waits. When the round starts
herd sends ``resume``: the worker answers ``resumed`` with the project
files it imported that changed on disk since it started, and exits at once
if there are any, so that a fresh process replaces it; a module is never
reloaded in place."""

import os
import sys
import time


class Hold:
    """The start time of the worker and the check of its imports."""

    def __init__(self):
        # Before pytest imports the project: a file changed after this may
        # have been imported in its old state.
        self.started_ns = time.time_ns()

    def _project_files(self, config):
        """The files under the rootdir this process imported (modules and
        conftests), the ini file, and where a new conftest.py at the rootdir
        or the invocation dir would be."""
        root = os.path.realpath(str(config.rootpath))
        prefix = root.rstrip(os.sep) + os.sep
        files = set()
        for mod in list(sys.modules.values()):
            path = getattr(mod, "__file__", None)
            if not path:
                continue
            path = os.path.realpath(path)
            if path.startswith(prefix):
                files.add(path)
        inipath = getattr(config, "inipath", None)
        if inipath:
            files.add(os.path.realpath(str(inipath)))
        for d in (root, str(config.invocation_params.dir)):
            files.add(os.path.join(os.path.realpath(d), "conftest.py"))
        return files

    @staticmethod
    def _stat(path):
        try:
            st = os.stat(path)
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size)

    def wait(self, channel, config):
        """Hold until herd resumes this worker; exit when a project file it
        imported changed since it started, or herd sends anything else."""
        snapshot = {p: self._stat(p) for p in self._project_files(config)}
        channel.send({"t": "held"})
        cmd = channel.recv()
        if cmd.get("t") != "resume":
            os._exit(0)
        stale = []
        for path, before in snapshot.items():
            now = self._stat(path)
            if now != before or (now is not None and now[0] >= self.started_ns):
                stale.append(path)
        root = str(config.rootpath)
        stale = sorted(os.path.relpath(p, root) for p in stale)
        channel.send({"t": "resumed", "ids": stale})
        if stale:
            os._exit(0)
