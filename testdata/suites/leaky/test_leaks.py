"""Leaky tests among clean ones. The first leaky test is also the first
test of the module: what it leaves running is its own, not the module's."""
import subprocess
import threading
import time


def test_leaks_subprocess():
    subprocess.Popen(["sleep", "120"])


def test_clean_between():
    assert subprocess.run(["true"]).returncode == 0


def test_leaks_daemonized():
    # The shell puts sleep in the background and exits: the sleeper is an
    # orphan, no longer a descendant of the worker, and still the test's.
    subprocess.run("sleep 118 &", shell=True, check=True)


def test_leaks_thread():
    threading.Thread(target=time.sleep, args=(1,), name="leaky-sleeper").start()


def test_clean_thread_joined():
    t = threading.Thread(target=time.sleep, args=(0.01,))
    t.start()
    t.join()


def test_clean_daemon_thread():
    # Daemon threads do not keep the process alive: not a leak.
    threading.Thread(target=time.sleep, args=(1,), daemon=True).start()
