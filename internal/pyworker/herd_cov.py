"""Combine and report the coverage herd's workers recorded, as pytest-cov's
xdist controller does.

herd runs this with the suite's interpreter once every worker has ended:
``python herd_cov.py OPTIONS_JSON``. OPTIONS_JSON holds pytest-cov's options
as a worker parsed them, and the workers whose data was lost. Each worker
saved its data as a .coverage.<host>.<pid>.<random> file (pytest-cov's
DistWorker, "collocated"); this combines them and writes pytest-cov's
reports. It prints one JSON object: the terminal text and the total.
"""

import io
import json
import os
import sys


def main():
    opts = json.loads(sys.argv[1])
    import coverage
    from pytest_cov import engine

    class Options:
        pass

    o = Options()
    for k, v in opts["options"].items():
        setattr(o, k, v)
    o.rsyncdir = []

    class Config:
        option = o

    source = opts["options"].get("cov_source")
    branch = opts["options"].get("cov_branch")
    config_file = opts["options"].get("cov_config")
    report = opts["options"].get("cov_report") or {}
    ctl = engine.DistMaster(source, report, config_file, True, branch, Config(), None)
    probe = coverage.Coverage(source=source, branch=branch, data_suffix=True, config_file=config_file)
    ctl.cov = coverage.Coverage(
        source=source,
        branch=branch,
        data_suffix=True,
        data_file=os.path.abspath(probe.config.data_file),
        config_file=config_file,
    )
    ctl.cov._warn_no_data = False
    ctl.cov.load()
    ctl.cov.combine()
    ctl.cov.save()
    ctl.node_descs.add(ctl.get_node_desc(sys.platform, sys.version_info))
    out = io.StringIO()
    total = ctl.summary(out)
    text = out.getvalue()
    lost = opts.get("lost") or []
    if lost:
        # pytest-cov's own "failed workers" note blames a missing install;
        # under herd it is a crash, so say that.
        text += "coverage data lost with %d crashed worker process%s (the lines they ran are missing):\n" % (
            len(lost),
            "" if len(lost) == 1 else "es",
        )
        for name in lost:
            text += "    %s\n" % name
    fail_under = opts["options"].get("cov_fail_under")
    failed = False
    if fail_under and total is not None:
        failed = total < fail_under
        text += (
            "\n{fail}Required test coverage of {required}% {reached}. "
            "Total coverage: {actual:.2f}%\n".format(
                required=fail_under,
                actual=total,
                fail="FAIL " if failed else "",
                reached="not reached" if failed else "reached",
            )
        )
    print(json.dumps({"report": text, "total": total, "failed": failed}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
