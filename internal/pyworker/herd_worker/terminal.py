"""What pytest's terminal would print, which herd's controller prints
instead: the header, the lines after "collected N items"; and the
worker's own terminal silenced."""

import os
import sys

import pytest


def _capture_off(config):
    """Whether pytest's capture is off: -s, --capture=no, or the capture
    plugin blocked (-p no:capture)."""
    if config.pluginmanager.getplugin("capturemanager") is None:
        return True
    return getattr(config.option, "capture", "fd") == "no"


def _cachedir(config):
    cache = getattr(config, "cache", None)
    if cache is None:
        return ""
    return str(getattr(cache, "_cachedir", ""))


def _pytest_version():
    return pytest.__version__


def _silence_terminal(config):
    """Send the worker's own terminal output (progress, summaries) nowhere:
    the controller prints the run's report. Test output under -s still
    reaches the real stdout, which herd streams."""
    tr = config.pluginmanager.get_plugin("terminalreporter")
    if tr is None:
        return
    try:
        from _pytest._io import TerminalWriter

        devnull = open(os.devnull, "w")
        _silence_terminal.devnull = devnull
        tr._tw = TerminalWriter(file=devnull)
    except Exception:
        pass


def _header_lines(config):
    """The lines pytest prints under "test session starts", as its terminal
    reporter builds them: the platform line, then what every plugin's
    pytest_report_header returns (pytest's own rootdir, testpaths and
    plugins, pytest-timeout's timeout lines, cachedir...), in pytest's
    order. --no-header leaves them out."""
    import platform

    import pluggy

    if getattr(config.option, "no_header", False):
        return []
    verinfo = platform.python_version()
    msg = "platform %s -- Python %s" % (sys.platform, verinfo)
    pypy_version_info = getattr(sys, "pypy_version_info", None)
    if pypy_version_info:
        verinfo = ".".join(map(str, pypy_version_info[:3]))
        msg += "[pypy-%s-%s]" % (verinfo, pypy_version_info[3])
    msg += ", pytest-%s, pluggy-%s" % (pytest.__version__, pluggy.__version__)
    opt = config.option
    if (getattr(opt, "verbose", 0) or 0) > 0 or getattr(opt, "debug", False) or getattr(opt, "pastebin", None):
        msg += " -- " + str(sys.executable)
    lines = [msg]
    try:
        extra = config.hook.pytest_report_header(config=config, start_path=config.invocation_params.dir)
    except Exception:
        extra = []
    for group in reversed(extra or []):
        if isinstance(group, str):
            group = [group]
        for text in group:
            for line in str(text).split("\n"):
                if line.startswith("plugins: "):
                    line = _plugins_line(config, line)
                lines.append(line)
    return lines


def _collection_lines(config, items):
    """What plugins print right after pytest's "collected N items" line
    (pytest_report_collectionfinish): --lf's "run-last-failure: ...",
    --sw's "stepwise: ...". The worker's terminal is silent, so herd's
    controller prints them."""
    try:
        got = config.hook.pytest_report_collectionfinish(
            config=config, start_path=config.invocation_params.dir, items=items
        )
    except Exception:
        return []
    lines = []
    for group in reversed(got or []):
        if isinstance(group, str):
            group = [group]
        for text in group:
            lines.extend(str(text).split("\n"))
    return lines


def _rerun_blocked_by_herd(config):
    """Whether pytest-rerunfailures is installed and kept out of the worker
    by herd alone (herd_boot.py passes -p no:rerunfailures first), so that
    pytest would have loaded it."""
    if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
        return False
    if config.pluginmanager.get_plugin("rerunfailures") is not None:
        return False
    user = list(config.invocation_params.args[2:])
    try:
        user += list(config.getini("addopts"))
    except (ValueError, TypeError):
        pass
    user += os.environ.get("PYTEST_ADDOPTS", "").split()
    return not any(a.endswith("no:rerunfailures") for a in user)


def _plugins_line(config, line):
    """pytest's "plugins:" line, with pytest-rerunfailures where pytest lists
    it: herd keeps it out of its workers, but pytest would have loaded it.
    The order is the one pluggy loads entry points in."""
    if not _rerun_blocked_by_herd(config):
        return line
    try:
        from importlib import metadata

        loaded = {dist.project_name for _, dist in config.pluginmanager.list_plugin_distinfo()}
        names = []
        added = False
        for dist in metadata.distributions():
            project = dist.metadata["name"]
            for ep in dist.entry_points:
                if ep.group != "pytest11":
                    continue
                if ep.name == "rerunfailures":
                    added = True
                elif project not in loaded:
                    continue
                name = "%s-%s" % (project, dist.version)
                if name.startswith("pytest-"):
                    name = name[7:]
                if name not in names:
                    names.append(name)
        if not added:
            return line
        return "plugins: " + ", ".join(names)
    except Exception:
        return line
