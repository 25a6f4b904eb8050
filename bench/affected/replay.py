#!/usr/bin/env python3
"""Replays the history written by make_history.py under `herd --affected`
and measures it against the full suite (BENCHMARKS.md, "Affected tests").

    /usr/bin/python3 bench/affected/replay.py --python /usr/bin/python3 --out bench/affected/results

Steps (all in a temp dir; --keep keeps it):

1. builds herd (`go build -o <tmp>/herd ./cmd/herd`, in this working tree),
   or takes --herd PATH;
2. writes the history repo (make_history.py) and clones it twice: `dev`, the
   developer's checkout that only ever runs `herd --affected` after the first
   commit, and `full`, a checkout that only ever runs `herd -n 2`;
3. at the first commit: `herd -n 2 --record-deps` in dev (the recording run)
   and `herd -n 2` in full;
4. at every next commit, after `git checkout -q COMMIT` in both:
   - in dev, `herd -n 2 --affected [REV] --verify --report-json ...` on a copy
     of dev's .pytest_cache (restored afterwards, so that the verify run, which
     runs everything, leaves no records behind): the misses herd finds;
   - in dev, `herd -n 2 --affected [REV] --report-json ...`, timed: what the
     developer runs, recording only what it runs;
   - in full, `herd -n 2 --report-json ...`, timed: the comparison;
   (the affected and full runs alternate in order from commit to commit)
   and, independently of herd's --verify, a test is counted as an
   "independent miss" when its outcome in the full run differs from its
   outcome in the full run at the commit before and the affected run did not
   run it;
5. the recording overhead: at the last commit, in a fresh clone,
   `herd -n 2 --record-deps` and `herd -n 2 --no-record-deps`, alternating,
   --overhead-runs times each (median).

REV is nothing (--rev head: HEAD plus uncommitted changes, the default) or
the commit before (--rev prev).

Writes OUT/replay.csv (one row per commit), OUT/summary.txt, and the herd
outputs of every run under OUT/logs/ when --logs is given.
"""
import argparse
import csv
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def sh(args, cwd=None, check=True, env=None):
    return subprocess.run(args, cwd=cwd, check=check, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True).stdout


class Run:
    def __init__(self, args, cwd, wall, rc, out, report):
        self.args, self.cwd, self.wall, self.rc, self.out, self.report = args, cwd, wall, rc, out, report

    def outcomes(self):
        if not self.report:
            return {}
        return {t["nodeid"]: t["outcome"] for t in self.report.get("tests", [])}


class Replay:
    def __init__(self, opts, tmp):
        self.opts, self.tmp = opts, tmp
        self.herd = opts.herd
        self.logs = None
        if opts.logs:
            self.logs = os.path.join(opts.out, "logs")
            os.makedirs(self.logs, exist_ok=True)
        self.nrun = 0

    def herd_run(self, cwd, extra, label):
        self.nrun += 1
        report_path = os.path.join(self.tmp, f"report-{self.nrun}.json")
        args = [self.herd, "-n", str(self.opts.workers), "--python", self.opts.python,
                "--report-json", report_path] + extra
        env = {**os.environ, "NO_COLOR": "1"}
        env.pop("HERD_RECORD_DEPS", None)
        start = time.monotonic()
        proc = subprocess.run(args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        wall = time.monotonic() - start
        report = None
        if os.path.exists(report_path):
            with open(report_path, encoding="utf-8") as f:
                report = json.load(f)
            os.remove(report_path)
        if self.logs:
            with open(os.path.join(self.logs, f"{self.nrun:03d}-{label}.txt"), "w", encoding="utf-8") as f:
                f.write(f"$ (cd {os.path.basename(cwd)} && {' '.join(args[:1] + args[1:])})\n")
                f.write(f"# exit {proc.returncode}, {wall:.2f} s\n")
                f.write(proc.stdout)
        if proc.returncode not in (0, 1):
            print(f"replay: {label}: herd exited {proc.returncode}:\n{proc.stdout[-3000:]}", file=sys.stderr)
        return Run(args, cwd, wall, proc.returncode, proc.stdout, report)


def summary_line(out):
    """herd's last '=== ... ===' line: the run's counts."""
    lines = [l for l in out.splitlines() if re.match(r"^=+ .* =+$", l.strip())]
    return lines[-1].strip("= ").strip() if lines else ""


def count_in(line, word):
    m = re.search(r"(\d+) " + re.escape(word), line)
    return int(m.group(1)) if m else 0


def affected_notes(out):
    """herd's "affected: ..." lines: what it selected, or why it ran everything."""
    return [l.strip() for l in out.splitlines() if l.startswith(("affected:", "affected --verify", "MISS "))]


def ran_tests(run):
    """The tests a run ran: every test in its report (deselected ones are not)."""
    return {n for n, o in run.outcomes().items() if o not in ("not_run", "deselected")}


def affected_of(run):
    """The JSON report's "affected": what --affected chose and why."""
    return (run.report or {}).get("affected") or {}


def herd_misses(run):
    """The misses herd's --verify reports (JSON affected.misses), checked
    against its closing line's "N miss(es)"."""
    misses = affected_of(run).get("misses") or []
    m = re.search(r"(\d+) miss(es)?\b", summary_line(run.out))
    if m and int(m.group(1)) != len(misses):
        print(f"replay: the closing line says {m.group(1)} misses, the JSON report {len(misses)}", file=sys.stderr)
    return len(misses), [f"{x['nodeid']} ({x['was']} -> {x['now']})" for x in misses]


def deselected_unaffected(run):
    rep = run.report or {}
    if "unaffected" in rep:
        return int(rep["unaffected"] or 0)
    m = re.search(r"(\d+) deselected \(unaffected\)", run.out)
    return int(m.group(1)) if m else 0


def overhead(r, cwd, runs, label):
    """Wall times of `herd --record-deps` and `--no-record-deps` on the whole
    suite in cwd, alternating which goes first, after one warm-up run."""
    r.herd_run(cwd, ["--no-record-deps"], label + "-warmup")
    on, off = [], []
    for k in range(runs):
        pair = [("on", ["--record-deps"]), ("off", ["--no-record-deps"])]
        if k % 2:
            pair.reverse()
        for kind, flags in pair:
            run = r.herd_run(cwd, flags, f"{label}-{kind}-{k}")
            (on if kind == "on" else off).append(run.wall)
    return on, off


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--python", default=os.environ.get("HERD_PYTHON", "/usr/bin/python3"))
    ap.add_argument("--herd", help="a herd binary (default: go build ./cmd/herd from this tree)")
    ap.add_argument("--out", default=None, help="where replay.csv and summary.txt go (default: the temp dir)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rev", choices=("head", "prev"), default="head")
    ap.add_argument("--overhead-runs", type=int, default=3)
    ap.add_argument("--overhead-dir", action="append",
                    help="also measure the recording overhead on the suite in this directory (repeatable)")
    ap.add_argument("--limit", type=int, default=0, help="replay only the first N commits after the first")
    ap.add_argument("--no-verify", action="store_true", help="skip the --verify runs")
    ap.add_argument("--logs", action="store_true", help="keep every herd output under OUT/logs")
    ap.add_argument("--keep", action="store_true")
    opts = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="herd-affected-")
    opts.out = os.path.abspath(opts.out or tmp)
    os.makedirs(opts.out, exist_ok=True)
    try:
        return replay(opts, tmp)
    finally:
        if opts.keep:
            print(f"replay: kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def replay(opts, tmp):
    if not opts.herd:
        opts.herd = os.path.join(tmp, "herd")
        sh(["/usr/local/go/bin/go" if os.path.exists("/usr/local/go/bin/go") else "go",
            "build", "-o", opts.herd, "./cmd/herd"], cwd=ROOT)
    herd_rev = sh(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT).strip()
    dirty = bool(sh(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT).strip())
    hist = os.path.join(tmp, "hist")
    sh([opts.python, os.path.join(HERE, "make_history.py"), hist])
    commits = sh(["git", "rev-list", "--reverse", "main"], cwd=hist).split()
    subjects = dict(l.split(" ", 1) for l in sh(["git", "log", "--format=%H %s", "main"], cwd=hist).splitlines())
    dev, full = os.path.join(tmp, "dev"), os.path.join(tmp, "full")
    for d in (dev, full):
        sh(["git", "clone", "-q", hist, d])
        sh(["git", "checkout", "-q", commits[0]], cwd=d)
    r = Replay(opts, tmp)
    print(f"replay: herd {herd_rev}{'+dirty' if dirty else ''}, {len(commits)} commits, "
          f"-n {opts.workers}, --rev {opts.rev}", flush=True)

    first_dev = r.herd_run(dev, ["--record-deps"], "c00-record")
    first_full = r.herd_run(full, [], "c00-full")
    prev_full = first_full.outcomes()
    print(f"  first commit: recording run {first_dev.wall:.2f} s, full {first_full.wall:.2f} s, "
          f"{len(prev_full)} tests", flush=True)

    rows = []
    limit = len(commits) if not opts.limit else min(len(commits), opts.limit + 1)
    for i in range(1, limit):
        c, p = commits[i], commits[i - 1]
        for d in (dev, full):
            sh(["git", "checkout", "-q", c], cwd=d)
        rev = [] if opts.rev == "head" else [p]
        verify = None
        if not opts.no_verify:
            snap = os.path.join(tmp, "snap")
            shutil.rmtree(snap, ignore_errors=True)
            cache = os.path.join(dev, ".pytest_cache")
            if os.path.exists(cache):
                shutil.copytree(cache, snap, symlinks=True)
            verify = r.herd_run(dev, ["--affected"] + rev + ["--verify"], f"c{i:02d}-verify")
            shutil.rmtree(cache, ignore_errors=True)
            if os.path.exists(snap):
                shutil.copytree(snap, cache, symlinks=True)
        if i % 2:
            aff = r.herd_run(dev, ["--affected"] + rev, f"c{i:02d}-affected")
            fl = r.herd_run(full, [], f"c{i:02d}-full")
        else:
            fl = r.herd_run(full, [], f"c{i:02d}-full")
            aff = r.herd_run(dev, ["--affected"] + rev, f"c{i:02d}-affected")

        full_out = fl.outcomes()
        ran = ran_tests(aff)
        total = len(full_out)
        changed = sorted(n for n, o in full_out.items() if prev_full.get(n) != o)
        indep_misses = [n for n in changed if n not in ran]
        # Tests the affected run ran whose outcome differs from the full run's.
        disagree = sorted(n for n, o in aff.outcomes().items() if n in ran and full_out.get(n) != o)
        nmiss, miss_detail = herd_misses(verify) if verify else (None, None)
        notes = affected_notes(aff.out)
        ran_all = len(ran) == total
        a_aff = affected_of(aff)
        v_aff = affected_of(verify) if verify else {}
        if verify and v_aff.get("selected") != a_aff.get("selected"):
            print(f"replay: commit {i}: --verify would have selected {v_aff.get('selected')}, "
                  f"--affected selected {a_aff.get('selected')}", file=sys.stderr)
        failed_full = sorted(n for n, o in full_out.items() if o not in ("passed", "skipped", "xfailed"))
        row = {
            "n": i,
            "commit": c[:10],
            "subject": subjects[c],
            "tests_total": total,
            "tests_run_affected": len(ran),
            "deselected_unaffected": deselected_unaffected(aff),
            "run_share": round(len(ran) / total, 4) if total else 0,
            "wall_affected_s": round(aff.wall, 2),
            "wall_full_s": round(fl.wall, 2),
            "wall_verify_s": round(verify.wall, 2) if verify else "",
            "misses_verify": nmiss if nmiss is not None else "",
            "misses_independent": len(indep_misses),
            "outcome_changes": len(changed),
            "failed_full": len(failed_full),
            "ran_all": "yes" if ran_all else "no",
            "herd_all": "yes" if a_aff.get("all") else "no",
            "why": a_aff.get("why", "") if a_aff.get("all") else "",
            "changed": " ".join(a_aff.get("changed") or []),
            "verify_would_select": v_aff.get("selected", ""),
            "affected_summary": summary_line(aff.out),
            "verify_summary": summary_line(verify.out) if verify else "",
            "exit_affected": aff.rc,
            "exit_full": fl.rc,
            "exit_verify": verify.rc if verify else "",
        }
        rows.append(row)
        flag = ""
        if indep_misses or (nmiss or 0) or disagree:
            flag = f"  <-- MISSES {indep_misses} herd:{nmiss} {miss_detail or ''} disagree:{disagree}"
        print(f"  {i:2d} {c[:8]} {subjects[c][:48]:48s} run {len(ran):3d}/{total} "
              f"aff {aff.wall:5.2f}s full {fl.wall:5.2f}s changed {len(changed)} "
              f"miss {nmiss}/{len(indep_misses)}{' ALL' if ran_all else ''}{flag}", flush=True)
        if notes:
            print(f"       {notes[0][:150]}", flush=True)
        prev_full = full_out

    with open(os.path.join(opts.out, "replay.csv"), "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)

    # Recording overhead at the last commit, in a fresh clone.
    over = os.path.join(tmp, "overhead")
    sh(["git", "clone", "-q", hist, over])
    sh(["git", "checkout", "-q", commits[limit - 1]], cwd=over)
    on, off = overhead(r, over, opts.overhead_runs, "overhead")
    extra = []
    for d in opts.overhead_dir or []:
        d_on, d_off = overhead(r, os.path.abspath(d), opts.overhead_runs, "overhead-" + os.path.basename(d))
        extra.append(f"recording overhead on {d} (median of {opts.overhead_runs}): record on {median(d_on):.2f} s, "
                     f"off {median(d_off):.2f} s: {median(d_on) / median(d_off) - 1:+.1%}")

    n = len(rows)
    mean_share = sum(r_["run_share"] for r_ in rows) / n
    mean_run = sum(r_["tests_run_affected"] for r_ in rows) / n
    mean_total = sum(r_["tests_total"] for r_ in rows) / n
    mean_aff = sum(r_["wall_affected_s"] for r_ in rows) / n
    mean_full = sum(r_["wall_full_s"] for r_ in rows) / n
    ran_all = [r_ for r_ in rows if r_["herd_all"] == "yes"]
    total_herd_misses = sum(r_["misses_verify"] or 0 for r_ in rows) if not opts.no_verify else None
    total_indep = sum(r_["misses_independent"] for r_ in rows)
    lines = [
        f"herd {herd_rev}{'+dirty' if dirty else ''}; history: {len(commits)} commits "
        f"({n} replayed after the first); -n {opts.workers}; --affected{'' if opts.rev == 'head' else ' PREV'}",
        f"python: {sh([opts.python, '--version']).strip()}; load at the end: {sh(['uptime']).strip()}",
        f"tests run per commit: mean {mean_run:.1f} of {mean_total:.1f} "
        f"(mean share {mean_share:.1%}; median share {median([r_['run_share'] for r_ in rows]):.1%})",
        f"commits where --affected ran every test: {sum(1 for r_ in rows if r_['ran_all'] == 'yes')} "
        f"({', '.join(str(r_['n']) for r_ in rows if r_['ran_all'] == 'yes') or '-'}); of them, "
        f"by a rule that runs everything: {len(ran_all)} "
        f"({'; '.join(str(r_['n']) + ': ' + r_['why'] for r_ in ran_all) or '-'})",
        f"commits that ran nothing: {sum(1 for r_ in rows if r_['tests_run_affected'] == 0)}",
        f"wall per commit: --affected mean {mean_aff:.2f} s (median {median([r_['wall_affected_s'] for r_ in rows]):.2f}), "
        f"full mean {mean_full:.2f} s (median {median([r_['wall_full_s'] for r_ in rows]):.2f}); "
        f"ratio of means {mean_aff / mean_full:.2f}",
        f"misses found by --verify: {total_herd_misses}; independent misses "
        f"(outcome changed vs the previous full run, not run by --affected): {total_indep}",
        f"outcome changes in the history: {sum(r_['outcome_changes'] for r_ in rows)}",
        f"recording overhead at the last commit (full suite, median of {opts.overhead_runs}): "
        f"record on {median(on):.2f} s, off {median(off):.2f} s: {median(on) / median(off) - 1:+.1%} "
        f"(on {', '.join(f'{x:.2f}' for x in on)}; off {', '.join(f'{x:.2f}' for x in off)})",
        f"first commit: recording run {first_dev.wall:.2f} s, full run {first_full.wall:.2f} s",
    ] + extra
    text = "\n".join(lines) + "\n"
    with open(os.path.join(opts.out, "table.md"), "w", encoding="utf-8") as f:
        f.write("| # | commit | tests run / total | --affected wall (s) | full wall (s) | misses (--verify / independent) | failing | note |\n")
        f.write("| ---: | --- | ---: | ---: | ---: | ---: | ---: | --- |\n")
        for r_ in rows:
            note = ("all: " + r_["why"]) if r_["herd_all"] == "yes" else ""
            f.write(f"| {r_['n']} | {r_['subject'].replace('|', '/')} | {r_['tests_run_affected']} / {r_['tests_total']} "
                    f"| {r_['wall_affected_s']:.2f} | {r_['wall_full_s']:.2f} | {r_['misses_verify']} / {r_['misses_independent']} "
                    f"| {r_['failed_full']} | {note} |\n")
    with open(os.path.join(opts.out, "summary.txt"), "w", encoding="utf-8") as f:
        f.write(text)
    print(text)
    return 1 if (total_herd_misses or total_indep) else 0


if __name__ == "__main__":
    sys.exit(main())
