"""Record each test's outcome of a plain pytest run, as JSON.

Independent of herd: herd's end-to-end tests run plain pytest with this plugin
and compare its map with herd's --report-json. Load it with

    OUTCOMES_JSON=out.json PYTHONPATH=testdata python3 -m pytest -p outcomes ...

At session end it writes {nodeid: outcome} to $OUTCOMES_JSON (nothing is
written when the variable is unset). Outcomes follow pytest's own terminal
summary, one per test:

    passed, failed, skipped, xfailed, xpassed  the call's status category
    error    setup failed, or teardown failed after a call that did not fail
    failed   also a strict xfail that passed, and a failed call followed by a
             teardown error (pytest counts that one as "1 failed, 1 error")

Tests that never reported (deselected, or not reached after -x) are absent.
Under xdist the controller writes the file, never a worker.
"""

import json
import os

ENV = "OUTCOMES_JSON"

_outcomes = {}


def _category(config, report):
    # pytest's own classification: the same hook the terminal reporter uses,
    # so skipped-with-wasxfail is "xfailed", strict xpass is "failed", ...
    res = config.hook.pytest_report_teststatus(report=report, config=config)
    category = res[0] if res else ""
    if isinstance(category, tuple):  # (category, markup) form
        category = category[0]
    return category or ""


def pytest_configure(config):
    global _config
    _config = config
    _outcomes.clear()


def pytest_runtest_logreport(report):
    category = _category(_config, report)
    nodeid = report.nodeid
    current = _outcomes.get(nodeid)
    if report.when == "setup":
        if category:
            _outcomes[nodeid] = category
    elif report.when == "call":
        if current is None:
            _outcomes[nodeid] = category or report.outcome
    elif report.when == "teardown":
        if report.failed:
            if current not in ("failed", "error"):
                _outcomes[nodeid] = "error"
        elif current is None:
            # A test whose setup and call produced no category; should not
            # happen, but never leave a reported test out.
            _outcomes[nodeid] = category or "passed"


def pytest_sessionfinish(session):
    path = os.environ.get(ENV)
    if not path or hasattr(session.config, "workerinput"):
        return
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(_outcomes, f, indent=1, sort_keys=True, ensure_ascii=False)
    os.replace(tmp, path)
