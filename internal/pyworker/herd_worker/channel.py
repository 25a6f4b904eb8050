"""The worker's end of the protocol: JSON lines out on the message pipe,
commands in on the command pipe, and the phase board (see docs/protocol.md)."""

import fcntl
import json
import mmap
import os
import select
import struct
import sys

PROTOCOL = 1

# BOARD_SIZE is the size of the phase board: a uint32 test sequence number
# and the phase's name, NUL-padded (16 bytes); then the revoke generation
# the controller wrote last and the sequence number of the test this worker
# claimed last, both uint32 (see Channel.claim).
BOARD_SIZE = 24


class Channel:
    """The worker's end of the protocol: commands in, messages out."""

    def __init__(self, cmd_fd, msg_fd, board_fd=None):
        self.cmd_fd = cmd_fd
        self.msg_fd = msg_fd
        self.buf = b""
        self.out = []
        self.board = None
        self.board_fd = None
        self.gen_seen = 0
        if board_fd is not None:
            try:
                self.board = mmap.mmap(board_fd, BOARD_SIZE)
                # Kept open: its lock guards taking tests back.
                self.board_fd = board_fd
            except (OSError, ValueError):
                self.board = None
                os.close(board_fd)

    def post(self, msg):
        """Queue msg; it goes out with the next send, flush or recv. A test's
        reports and done wait for the next test's start, so a test costs
        one write, not five."""
        self.out.append(json.dumps(msg, ensure_ascii=True, separators=(",", ":")))

    def send(self, msg):
        """Write msg, after every message posted before it."""
        self.post(msg)
        self.flush()

    def flush(self):
        if not self.out:
            return
        data = ("\n".join(self.out) + "\n").encode()
        del self.out[:]
        view = memoryview(data)
        while view:
            try:
                n = os.write(self.msg_fd, view)
            except InterruptedError:
                continue
            view = view[n:]

    def phase(self, seq, when):
        """Record on the board that test number seq (counting start
        messages) is in phase when. The board is a page of memory the
        controller reads after the process died: it says where a crash
        hit without a message per phase."""
        board = self.board
        if board is None:
            return
        if seq is None:
            board[4:16] = when.encode()[:12].ljust(12, b"\0")
        else:
            board[0:16] = struct.pack("<I12s", seq & 0xFFFFFFFF, when.encode()[:12])

    def claim(self, seq, handle, queue):
        """Claim the test about to start (queue[0]), number seq, on the
        board, under the board's lock. The controller takes queued tests
        back (revoke) only under the same lock and while the board shows no
        claim it has not seen start, writing the revoke's generation there:
        a generation not seen yet means a revoke is on its way, and it is
        handled first (its tests leave the queue). handle applies a
        command."""
        board = self.board
        if board is None or self.board_fd is None:
            return
        try:
            fcntl.lockf(self.board_fd, fcntl.LOCK_EX)
        except (OSError, ValueError):
            # A test closed the board's descriptor: never claim again, so
            # the controller never takes anything back from this worker.
            self.board_fd = None
            board[20:24] = b"\xff\xff\xff\xff"
            return
        try:
            gen = struct.unpack("<I", board[16:20])[0]
            while gen != self.gen_seen:
                if handle(self.recv()) == "shutdown":
                    break
            if queue:
                board[20:24] = struct.pack("<I", seq & 0xFFFFFFFF)
        finally:
            fcntl.lockf(self.board_fd, fcntl.LOCK_UN)

    def hello(self):
        self.send(
            {
                "t": "hello",
                "v": PROTOCOL,
                "pid": os.getpid(),
                "python": sys.version.split()[0],
            }
        )

    def _line(self):
        i = self.buf.find(b"\n")
        if i < 0:
            return None
        line, self.buf = self.buf[:i], self.buf[i + 1 :]
        return json.loads(line)

    def recv(self, block=True):
        """Return the next command, or None when block is False and none is
        waiting. A closed command pipe means the controller is gone."""
        if block:
            # Whatever waits in the buffer goes out before we wait: the
            # controller may need it to answer.
            self.flush()
        while True:
            cmd = self._line()
            if cmd is not None:
                return cmd
            if not block:
                r, _, _ = select.select([self.cmd_fd], [], [], 0)
                if not r:
                    return None
            try:
                chunk = os.read(self.cmd_fd, 1 << 16)
            except InterruptedError:
                continue
            if not chunk:
                return {"t": "shutdown", "eof": True}
            self.buf += chunk
