"""Run a suite through a real herd worker and print every message it sends.

    python deps_run.py INSTALL_DIR SUITE_DIR [NODEID...]

The worker collects the suite (no split collection) and is handed the
given tests in that order (all it collected, in its order, without any);
each message it sends is printed as one JSON line on stdout. HERD_DEPS is
passed on from this process's environment.
"""

import json
import os
import select
import subprocess
import sys
import tempfile

TIMEOUT = 60


def main():
    install, suite = sys.argv[1:3]
    order = sys.argv[3:]
    cmd_r, cmd_w = os.pipe()
    msg_r, msg_w = os.pipe()
    board = tempfile.TemporaryFile()
    board.write(b"\0" * 24)
    board.flush()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HERD_", "PYTEST_"))}
    if "HERD_DEPS" in os.environ:
        env["HERD_DEPS"] = os.environ["HERD_DEPS"]
    env.update(
        {
            "HERD_WORKER_MAGIC": "herd-worker-b5c1",
            "HERD_CMD_FD": str(cmd_r),
            "HERD_MSG_FD": str(msg_w),
            "HERD_BOARD_FD": str(board.fileno()),
            "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    proc = subprocess.Popen(
        [sys.executable, os.path.join(install, "herd_boot.py"), "-p", "no:randomly", "-p", "no:cacheprovider"],
        cwd=suite,
        env=env,
        pass_fds=(cmd_r, msg_w, board.fileno()),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    os.close(cmd_r)
    os.close(msg_w)
    buf = b""

    def send(cmd):
        os.write(cmd_w, (json.dumps(cmd) + "\n").encode())

    sent_run = False
    while True:
        while b"\n" not in buf:
            r, _, _ = select.select([msg_r], [], [], TIMEOUT)
            if not r:
                proc.kill()
                raise SystemExit("no message from the worker in %ds" % TIMEOUT)
            chunk = os.read(msg_r, 1 << 16)
            if not chunk:
                break
            buf += chunk
        if b"\n" not in buf:
            break
        line, buf = buf.split(b"\n", 1)
        msg = json.loads(line)
        print(json.dumps(msg))
        t = msg.get("t")
        if t == "collected" and not order:
            order = [x["id"] for x in msg.get("tests") or []]
        elif t == "want":
            if not sent_run:
                sent_run = True
                send({"t": "run", "ids": order})
            elif msg.get("idle"):
                send({"t": "shutdown"})
            else:
                send({"t": "none"})
    os.close(cmd_w)
    _, err = proc.communicate(timeout=TIMEOUT)
    if proc.returncode not in (0, 1):
        sys.stderr.write("worker exited %d:\n%s" % (proc.returncode, err.decode("utf-8", "replace")))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
