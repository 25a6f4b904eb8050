"""Process pools whose children never finish; the tests time out."""
import concurrent.futures
import multiprocessing
import time

import pytest


def child_blocks(i):
    # A forked child inherits herd's faulthandler: herd can ask it for its
    # stack, which ends in this function.
    time.sleep(3600)
    return i


def spawned_child_blocks(i):
    # A spawned child is a fresh interpreter without faulthandler: SIGUSR1
    # would kill it, so herd must not send it.
    time.sleep(3600)
    return i


def test_quick():
    assert True


@pytest.mark.serial
@pytest.mark.timeout(4)
def test_hang_fork_pool():
    ctx = multiprocessing.get_context("fork")
    with concurrent.futures.ProcessPoolExecutor(max_workers=2, mp_context=ctx) as pool:
        futures = [pool.submit(child_blocks, i) for i in range(2)]
        for f in concurrent.futures.as_completed(futures):
            f.result()


@pytest.mark.serial
@pytest.mark.timeout(8)
def test_hang_spawn_pool():
    ctx = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
        pool.submit(spawned_child_blocks, 0).result()
