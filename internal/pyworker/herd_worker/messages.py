"""Building the protocol's messages from pytest's objects: a collected
test's entry, a phase's report, the session's options, with long text cut
so no message is unbounded."""

# A captured-output section or traceback longer than this is cut in the
# middle, so one test printing 100 MB cannot make a message unbounded.
MAX_TEXT = 512 * 1024

# A one-line field (the short summary message, the crash line) is meant for
# one terminal line; 4 KiB keeps any real message whole.
MAX_LINE = 4 * 1024


def _cut(text, limit=MAX_TEXT):
    if text is None:
        return ""
    if len(text) <= limit:
        return text
    half = limit // 2
    dropped = len(text) - 2 * half
    return (
        text[:half]
        + "\n[... herd truncated %d characters of output ...]\n" % dropped
        + text[-half:]
    )


def _timeout_of(item):
    marker = item.get_closest_marker("timeout")
    if marker is not None:
        value = marker.args[0] if marker.args else marker.kwargs.get("timeout")
        try:
            return float(value or 0)
        except (TypeError, ValueError):
            return 0.0
    return 0.0


def _options(config):
    opt = config.option

    def num(name, default=0):
        v = getattr(opt, name, default)
        try:
            return float(v) if v is not None else default
        except (TypeError, ValueError):
            return default

    durations = getattr(opt, "durations", None)
    return {
        "verbose": int(getattr(opt, "verbose", 0) or 0),
        "reportchars": getattr(opt, "reportchars", "") or "",
        "tbstyle": getattr(opt, "tbstyle", "auto") or "auto",
        "showcapture": getattr(opt, "showcapture", "all") or "all",
        "maxfail": int(getattr(opt, "maxfail", 0) or 0),
        "durations": durations,
        "durations_min": num("durations_min", 0.005),
        "junitxml": getattr(opt, "xmlpath", None) or "",
        "junit": _junit_options(config),
        "continue_on_collection_errors": bool(getattr(opt, "continue_on_collection_errors", False)),
        "timeout": num("timeout", 0),
        "capture": getattr(opt, "capture", "fd") or "fd",
        "failedfirst": bool(getattr(opt, "failedfirst", False)),
    }


def _junit_options(config):
    """pytest's junitxml settings as this session reads them (ini options,
    -o overrides, --junit-prefix): herd writes the JUnit report pytest's
    junitxml plugin would have written."""

    def ini(name, default):
        try:
            return config.getini(name)
        except (ValueError, KeyError):
            # The junitxml plugin is off (-p no:junitxml).
            return default

    return {
        "suite_name": str(ini("junit_suite_name", "pytest")),
        "logging": str(ini("junit_logging", "no")),
        "log_passing_tests": bool(ini("junit_log_passing_tests", True)),
        "duration_report": str(ini("junit_duration_report", "total")),
        "family": str(ini("junit_family", "xunit2")),
        "prefix": getattr(config.option, "junitprefix", None) or "",
    }


def _reruns_of(item):
    """N of @pytest.mark.flaky(reruns=N), as pytest-rerunfailures spells it."""
    marker = item.get_closest_marker("flaky")
    if marker is None:
        return 0
    value = marker.kwargs.get("reruns", marker.args[0] if marker.args else 1)
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return 0


def _group_of(item):
    marker = item.get_closest_marker("xdist_group")
    if marker is None:
        return ""
    if marker.args:
        return str(marker.args[0])
    return str(marker.kwargs.get("name", "default"))


def _sections(config, rep):
    showcapture = getattr(config.option, "showcapture", "all")
    if showcapture == "no":
        return []
    out = []
    for title, content in rep.sections:
        if showcapture != "all" and showcapture not in title:
            continue
        out.append({"title": title, "content": _cut(content)})
    return out


def _message(rep):
    try:
        return rep.longrepr.reprcrash.message
    except AttributeError:
        pass
    if rep.skipped and isinstance(rep.longrepr, tuple) and len(rep.longrepr) == 3:
        reason = rep.longrepr[2]
        if reason.startswith("Skipped: "):
            reason = reason[len("Skipped: ") :]
        return reason
    return ""


def _longrepr(rep, config=None):
    if rep.skipped and isinstance(rep.longrepr, tuple) and len(rep.longrepr) == 3:
        # The form of pytest's folded skip lines: "path:lineno: reason", the
        # path relative to the invocation directory.
        path, lineno, reason = rep.longrepr
        if config is not None:
            try:
                from _pytest.pathlib import bestrelpath
                from pathlib import Path

                path = bestrelpath(config.invocation_params.dir, Path(path))
            except Exception:
                pass
        if reason.startswith("Skipped: "):
            reason = reason[len("Skipped: ") :]
        if lineno is None:
            return _cut("%s: %s" % (path, reason))
        return _cut("%s:%d: %s" % (path, lineno, reason))
    if rep.longrepr is None:
        return ""
    return _cut(_render(rep))


def _render(rep):
    """Render a report's longrepr as pytest's terminal does, without colour;
    unlike longreprtext it keeps the leading blank line pytest prints."""
    try:
        from io import StringIO

        from _pytest._io import TerminalWriter

        out = StringIO()
        tw = TerminalWriter(file=out)
        tw.hasmarkup = False
        rep.toterminal(tw)
        return out.getvalue().rstrip("\n")
    except Exception:
        return rep.longreprtext


def _last_line(text):
    """The last non-blank line of text, without pytest's "E   " prefix: the
    one-line message of a collection error."""
    for line in reversed((text or "").splitlines()):
        line = line.strip()
        if line:
            if line.startswith("E "):
                line = line[1:].strip()
            return line
    return ""


def _crashline(rep):
    try:
        return str(rep.longrepr.reprcrash)
    except AttributeError:
        try:
            return str(rep.longrepr)[:50]
        except Exception:
            return ""


def _entry(item):
    """What the controller learns of one collected test."""
    path, lineno, _ = item.location
    entry = {"id": item.nodeid, "file": path}
    if lineno is not None:
        entry["line"] = lineno + 1
    markers = sorted({m.name for m in item.iter_markers()})
    if markers:
        entry["markers"] = markers
    t = _timeout_of(item)
    if t:
        entry["timeout"] = t
    g = _group_of(item)
    if g:
        entry["group"] = g
    r = _reruns_of(item)
    if r:
        entry["reruns"] = r
    return entry


def collection(kind, listing, errors, skips, deselected, ini_timeout, report_lines=None):
    """A collection's message: "files" (listing: the files of a split
    collection) or "collected" (listing: the tests' entries)."""
    msg = {
        "t": kind,
        "files" if kind == "files" else "tests": listing,
        "errors": errors,
        "skips": skips,
        "deselected": deselected,
        "ini_timeout": ini_timeout,
    }
    if report_lines is not None:
        msg["report_lines"] = report_lines
    return msg


def report_body(config, report, category):
    """The "report" field of a report message: one phase of a test, as
    pytest_report_teststatus classified it (category)."""
    msg = {
        "when": report.when,
        "outcome": report.outcome,
        "category": category,
        "dur": report.duration,
    }
    if report.failed or report.skipped:
        msg["longrepr"] = _longrepr(report, config)
        msg["message"] = _cut(_message(report), MAX_LINE)
        msg["crashline"] = _cut(_crashline(report), MAX_LINE)
        msg["head"] = _cut(report.head_line or "", MAX_LINE)
    if hasattr(report, "wasxfail"):
        msg["wasxfail"] = _cut(str(report.wasxfail), MAX_LINE)
        msg["head"] = report.head_line or ""
    sections = _sections(config, report)
    if sections and (report.failed or report.when == "call" or report.when == "teardown"):
        msg["sections"] = sections
    return msg
