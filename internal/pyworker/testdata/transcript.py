"""Play herd's controller against a real worker from a recorded exchange.

    python transcript.py replay INSTALL_DIR SUITE_DIR TRANSCRIPT
    python transcript.py record INSTALL_DIR SUITE_DIR TRANSCRIPT

INSTALL_DIR holds herd_boot.py and the herd_worker package (pyworker's
Install), SUITE_DIR the suite of testdata/transcript_suite (a copy: the
worker writes pytest's cache there).

TRANSCRIPT (internal/protocol/testdata/transcript.jsonl) is one JSON object
a line: {"session": NAME} starts a worker; {"dir": "cmd", "line": {...}} is
a command herd sends; {"dir": "msg", "line": {...}} a message the worker
sends. replay starts a worker per session, sends each command when its turn
comes and checks that each message the worker sends has the recorded type
and the recorded keys, nested objects included (values differ: pids,
durations, paths). A key renamed on the worker's side, in a message it
writes or a command it reads, makes it fail. internal/protocol's tests
decode the same lines with the Go side's types.

record writes TRANSCRIPT anew from SCRIPT below: at each point where the
worker waits for herd (nodein, want, ask) it sends the script's next
commands.
"""

import base64
import fcntl
import json
import marshal
import os
import select
import struct
import subprocess
import sys
import tempfile

TIMEOUT = 30

# Per session: the groups of commands sent, in order, each when the worker
# waits (after nodein, want or ask). A revoke writes its generation on the
# board first, as herd's controller does.
SCRIPT = {
    "main": [
        [{"t": "workerinput", "data": {"from_controller": 1}}],
        [{"t": "collect", "files": ["test_one.py", "test_broken.py", "test_skipmod.py", "test_two.py"]}],
        [
            {
                "t": "run",
                "ids": [
                    "test_one.py::test_pass",
                    "test_one.py::test_xfail",
                    "test_one.py::test_skip",
                    "test_one.py::test_warn",
                    "test_one.py::test_nonexistent",
                    "test_one.py::test_marked",
                ],
            }
        ],
        # Asked for more with test_marked the last one held: take it back.
        [{"t": "revoke", "ids": ["test_one.py::test_marked"], "gen": 1}, {"t": "none"}],
        [
            {
                "t": "run",
                "ids": [
                    "test_one.py::test_fail",
                    "test_two.py::test_leak",
                    "test_two.py::test_after",
                    "test_late.py::test_late",
                    "test_one.py::test_fail_again",
                    "test_one.py::test_marked",
                ],
            }
        ],
        [{"t": "go"}],
        [{"t": "stop"}],
        [{"t": "shutdown", "collected": 9}],
    ],
    "no-workerinput": [
        [{"t": "workerinput", "error": "pytest_configure_node failed"}],
    ],
}

WAITS = ("nodein", "want", "ask")


class Worker:
    def __init__(self, install, suite):
        self.cmd_r, self.cmd_w = os.pipe()
        self.msg_r, self.msg_w = os.pipe()
        self.board = tempfile.TemporaryFile()
        self.board.write(b"\0" * 24)
        self.board.flush()
        board_fd = self.board.fileno()
        env = dict(os.environ)
        for name in list(env):
            if name.startswith(("HERD_", "PYTEST_")):
                del env[name]
        env.update(
            {
                "HERD_WORKER_MAGIC": "herd-worker-b5c1",
                "HERD_CMD_FD": str(self.cmd_r),
                "HERD_MSG_FD": str(self.msg_w),
                "HERD_BOARD_FD": str(board_fd),
                "HERD_SPLIT": "1",
                "HERD_MAXFAIL": "5",
                # Each test's deps (and the fingerprints of their files).
                "HERD_DEPS": "1",
                "HERD_XDIST_CONTROLLER": "1",
                "HERD_RUN_SEED": "1",
                "HERD_SEED": "",
                "PYTEST_XDIST_WORKER": "gw0",
                "PYTEST_XDIST_WORKER_COUNT": "1",
                "PYTEST_XDIST_TESTRUNUID": "transcript",
                "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
                "PYTHONDONTWRITEBYTECODE": "1",
            }
        )
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(install, "herd_boot.py"), "-p", "no:randomly"],
            cwd=suite,
            env=env,
            pass_fds=(self.cmd_r, self.msg_w, board_fd),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        os.close(self.cmd_r)
        os.close(self.msg_w)
        self.buf = b""

    def recv(self):
        """The worker's next message, or None at the end of its pipe."""
        while b"\n" not in self.buf:
            r, _, _ = select.select([self.msg_r], [], [], TIMEOUT)
            if not r:
                raise AssertionError("no message from the worker in %ds" % TIMEOUT)
            chunk = os.read(self.msg_r, 1 << 16)
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def send(self, cmd):
        if cmd.get("t") == "revoke":
            # Under the board's lock, as herd's controller (see
            # Channel.claim).
            fcntl.lockf(self.board.fileno(), fcntl.LOCK_EX)
            os.pwrite(self.board.fileno(), struct.pack("<I", cmd["gen"]), 16)
            fcntl.lockf(self.board.fileno(), fcntl.LOCK_UN)
        os.write(self.cmd_w, (json.dumps(cmd, separators=(",", ":")) + "\n").encode())

    def finish(self):
        os.close(self.cmd_w)
        rest = self.recv()
        _, err = self.proc.communicate(timeout=TIMEOUT)
        os.close(self.msg_r)
        return rest, err.decode("utf-8", "replace")


def wire(cmd):
    """The command as herd sends it: workerinput's data marshal-encoded,
    then base64."""
    if cmd.get("t") == "workerinput" and isinstance(cmd.get("data"), dict):
        cmd = dict(cmd, data=base64.b64encode(marshal.dumps(cmd["data"])).decode("ascii"))
    return cmd


def record(install, suite, path):
    out = []
    for name, groups in SCRIPT.items():
        out.append({"session": name})
        w = Worker(install, suite)
        groups = list(groups)
        while True:
            msg = w.recv()
            if msg is None:
                break
            out.append({"dir": "msg", "line": msg})
            if msg["t"] in WAITS and groups:
                for cmd in groups.pop(0):
                    cmd = wire(cmd)
                    out.append({"dir": "cmd", "line": cmd})
                    w.send(cmd)
        if groups:
            raise AssertionError("session %s: the worker ended with commands left: %s" % (name, groups))
        _, err = w.finish()
        if w.proc.returncode not in (0, 1, 3):
            raise AssertionError("session %s: worker exited %d:\n%s" % (name, w.proc.returncode, err))
    with open(path, "w") as f:
        for entry in out:
            # Values are not compared; the temporary directory's name
            # would only make every recording differ.
            line = json.dumps(entry, separators=(",", ":"))
            f.write(line.replace(os.path.realpath(suite), "/suite").replace(suite, "/suite") + "\n")


def shape(value, where):
    """The keys of value, nested: what a renamed field changes."""
    if isinstance(value, dict):
        return {k: shape(v, where + "." + k) for k, v in value.items()}
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        return [shape(v, where) for v in value]
    return None


def diff(want, got, where, errors):
    if isinstance(want, dict) and isinstance(got, dict):
        for k in sorted(set(want) | set(got)):
            if k not in got:
                errors.append("%s: the worker sent no %r" % (where, k))
            elif k not in want:
                errors.append("%s: the worker sent %r, not in the transcript" % (where, k))
            else:
                diff(want[k], got[k], where + "." + k, errors)
    elif isinstance(want, list) and isinstance(got, list):
        if len(want) != len(got):
            errors.append("%s: %d objects, the transcript has %d" % (where, len(got), len(want)))
        for k, (w, g) in enumerate(zip(want, got)):
            diff(w, g, "%s[%d]" % (where, k), errors)
    elif (want is None) != (got is None):
        errors.append("%s: the worker sent %r, the transcript %r" % (where, got, want))


def sessions(path):
    with open(path) as f:
        entries = [json.loads(line) for line in f if line.strip()]
    out = []
    for e in entries:
        if "session" in e:
            out.append((e["session"], []))
        else:
            out[-1][1].append(e)
    return out


def replay(install, suite, path):
    errors = []
    for name, entries in sessions(path):
        w = Worker(install, suite)
        errors_before = len(errors)
        for n, e in enumerate(entries):
            where = "session %s, line %d" % (name, n + 1)
            if e["dir"] == "cmd":
                w.send(e["line"])
                continue
            want = e["line"]
            try:
                got = w.recv()
            except AssertionError as exc:
                errors.append("%s: %s; the transcript has %s" % (where, exc, json.dumps(want)[:300]))
                w.proc.kill()
                break
            if got is None:
                errors.append("%s: the worker ended; the transcript has %s" % (where, json.dumps(want)))
                break
            if got.get("t") != want.get("t"):
                errors.append("%s: the worker sent %s; the transcript has %s" % (where, json.dumps(got)[:300], json.dumps(want)[:300]))
                break
            diff(shape(want, want["t"]), shape(got, want["t"]), "%s: %s" % (where, want["t"]), errors)
        try:
            rest, err = w.finish()
        except (AssertionError, subprocess.TimeoutExpired) as exc:
            w.proc.kill()
            rest, err = None, "(%s)" % exc
        if len(errors) == errors_before and rest is not None:
            errors.append("session %s: the worker sent more than the transcript: %s" % (name, json.dumps(rest)[:300]))
        for e in entries:
            # The worker reads a workerinput's error: it ends with it.
            text = e["line"].get("error") if e["dir"] == "cmd" else None
            if text and text not in err:
                errors.append("session %s: the worker's stderr does not say %r:\n%s" % (name, text, err))
        if len(errors) > errors_before:
            errors.append("session %s: the worker's stderr:\n%s" % (name, err))
    if errors:
        sys.stderr.write("\n".join(errors) + "\n")
        return 1
    return 0


if __name__ == "__main__":
    mode, install, suite, transcript = sys.argv[1:5]
    if mode == "record":
        record(install, suite, transcript)
        sys.exit(0)
    sys.exit(replay(install, suite, transcript))
