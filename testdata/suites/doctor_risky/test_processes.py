"""Tests that start processes or threads: herd runs them isolated."""
import multiprocessing
import os
import subprocess
import threading
from concurrent.futures import ProcessPoolExecutor


def _square(x):
    return x * x


def test_multiprocessing_pool():
    with multiprocessing.Pool(2) as pool:  # doctor: pool
        assert pool.map(_square, [1, 2]) == [1, 4]


def test_process_pool_executor():
    with ProcessPoolExecutor(max_workers=2) as ex:  # doctor: pool-executor
        assert list(ex.map(_square, [3])) == [9]


def test_multiprocessing_process():
    ctx = multiprocessing.get_context("spawn")
    p = ctx.Process(target=_square, args=(2,))  # doctor: process
    p.start()
    p.join()


def test_os_fork():
    pid = os.fork()  # doctor: fork
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)


def test_popen_new_session():
    proc = subprocess.Popen(["true"], start_new_session=True)  # doctor: new-session
    proc.wait()


def test_setsid_command():
    subprocess.run(["setsid", "true"], check=True)  # doctor: setsid-command


def test_preexec_os_setsid():
    subprocess.run(["true"], preexec_fn=os.setsid, check=True)  # doctor: preexec-setsid


def test_thread_not_joined():
    t = threading.Thread(target=_square, args=(1,))
    t.start()  # doctor: thread


def test_thread_started_inline():
    threading.Thread(target=_square, args=(1,), daemon=True).start()  # doctor: thread-inline
