"""pytest-asyncio: marked coroutine tests and an async fixture."""

import asyncio

import pytest

pytest_asyncio = pytest.importorskip("pytest_asyncio")


@pytest_asyncio.fixture
async def queue():
    q = asyncio.Queue()
    await q.put("first")
    yield q
    assert q.empty()


@pytest.mark.asyncio
async def test_sleep():
    await asyncio.sleep(0.01)


@pytest.mark.asyncio
async def test_gather():
    async def double(x):
        await asyncio.sleep(0)
        return 2 * x

    assert await asyncio.gather(*(double(i) for i in range(5))) == [0, 2, 4, 6, 8]


@pytest.mark.asyncio
async def test_async_fixture(queue):
    assert await queue.get() == "first"


@pytest.mark.asyncio
async def test_timeout_cancels():
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(asyncio.sleep(10), 0.01)


@pytest.mark.asyncio
async def test_event_loop_runs_here(worker_id):
    loop = asyncio.get_running_loop()
    fut = loop.run_in_executor(None, lambda: worker_id)
    assert await fut == worker_id
