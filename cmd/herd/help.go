package main

// helpText is printed by --help.
const helpText = `usage: herd [herd options] [pytest arguments]
       herd watch [herd options] [pytest arguments]
       herd doctor [--json] [--python PATH] [paths...]
       herd report merge [--junitxml PATH] [--report-html PATH] [--report-json PATH] FILES...
       herd report --queue URL --run-id ID [--wait DURATION] [--junitxml PATH] ...
       herd durations merge FILES... [-o PATH]

Runs a pytest suite across supervised worker processes. Use it where you ran
"pytest -n auto", with the same arguments: every argument herd does not own
goes to pytest unchanged, and ini files (pytest.ini, pyproject.toml,
setup.cfg, tox.ini) configure the workers as they configure pytest.

herd options:
  -n N|auto, --numprocesses N
                        number of worker processes (default auto: usable
                        CPUs); -n 0 runs one worker
  --python PATH         interpreter with pytest >= 7.0 (default: HERD_PYTHON,
                        else the first of $VIRTUAL_ENV, ./.venv, python3,
                        python that can import pytest)
  --timeout SECONDS     per-test timeout enforced by herd (overrides the ini
                        option "timeout"; a timeout marker overrides both)
  --retries N           run a failed test (crashed and timed out included)
                        up to N more times; one that then passes is flaky
                        (also per test: @pytest.mark.flaky(reruns=N))
  --seed N              give pytest-randomly and hypothesis the seed N in
                        every worker, unless their own seed option is given
                        (default: herd seeds neither, as pytest)
  --flaky-fails         count flaky tests as failed
  --no-diagnose         do not rerun a crashed test alone to diagnose it
  --collect-each        every worker collects the whole suite (default: each
                        imports its share of the test files)
  --leaks warn|fail     a process or thread a test leaves running is a
                        warning (default) or fails the test
  --shard K/N           run only the K-th of N duration-balanced parts of the
                        selected tests (1 <= K <= N), one part per machine;
                        the others count as deselected; an empty part exits 0
  --durations-file PATH with --shard: weigh the tests by this durations file
                        (from herd durations merge); default .test_durations
                        in the rootdir, else every test weighs the same
  --queue URL           run as one of several machines sharing a work queue
                        in Redis: redis://[user:password@]host:port/db, or
                        rediss://... for TLS (or $HERD_QUEUE with --run-id);
                        prints the whole run's summary and exit code
  --run-id ID           the queue run's id, the same on every machine
  --queue-lease DURATION
                        how long a machine's leased tests wait after its
                        last heartbeat before others take them back
                        (default 30s)
  --affected [REV]      run only the tests a change since REV (default: HEAD
                        and what is not committed) can break, by what each
                        test depended on when it last ran; the others count
                        as "deselected (unaffected)"
  --verify              with --affected: run every test, and fail on any
                        test whose outcome changed that --affected would
                        have left out (a miss)
  --record-deps, --no-record-deps
                        record what each test depends on in every run, or
                        never (default: under --affected and herd watch
                        only)
  -x, --exitfirst       stop scheduling after the first failure
  --maxfail N           stop scheduling after N failures
  --junitxml PATH       write a JUnit XML report as pytest's (junit_* ini
                        options honoured)
  --report-json PATH    write herd's JSON report
  --report-html PATH    write a self-contained HTML report: a timeline of the
                        workers, crashes and timeouts, and every test
  --events PATH         stream one JSON line per event as it happens (- for
                        stdout; the terminal output then goes to stderr)
  --durations N         show the N slowest tests (0 for all)
  --durations-min S     hide durations shorter than S seconds (default 0.005)
  -q, -v                less or more output (also passed to pytest)
  --dist MODE, --max-worker-restart N
                        pytest-xdist options, accepted with a note
  -V, --version         print herd's version, then pytest's (-VV: its plugins)
  -h, --help            print this help

"herd watch" reruns the affected tests on every save, on workers started
ahead; keys: a runs all, f the failed ones, q quits.

"herd doctor" reads the suite's test sources and lists the tests at risk
when run in parallel, with the policy herd would apply and the marker to add.

"herd report merge" merges the --report-json files of several runs (the
shards of one suite) into one run: pytest's summary, the exit code of one
unsharded run, and JUnit, HTML and JSON reports. "herd report --queue URL
--run-id ID" does the same for a queue run, from Redis alone. "herd
durations merge" merges durations files (herd's
.pytest_cache/v/herd/durations, pytest-split's .test_durations). Each takes
--help ("herd report --help", "herd durations --help" too); to run the tests
in a directory named report or durations, write ./report.

Exit codes are pytest's: 0 all passed, 1 tests failed (crashed and timeout
count as failed), 2 interrupted, 3 internal error, 4 usage error, 5 no tests
collected.
`
