"""What a controller hands its workers, and how code tells a worker."""

import os


def test_shard_secret_from_configure_node(request, worker_id, mode):
    if mode == "serial":
        assert not hasattr(request.config, "workerinput")
        return
    # put there by the conftest's pytest_configure_node for this worker
    assert request.config.workerinput["shard_secret"] == "s-" + worker_id


def test_workerinput_names_the_worker(request, worker_id, mode):
    if mode == "serial":
        assert worker_id == "master"
        return
    wi = request.config.workerinput
    assert wi["workerid"] == worker_id
    assert wi["workercount"] == int(os.environ["PYTEST_XDIST_WORKER_COUNT"])
    assert wi["testrunuid"] == os.environ["PYTEST_XDIST_TESTRUNUID"]


def test_hasattr_workerinput(pytestconfig, mode):
    assert hasattr(pytestconfig, "workerinput") == (mode == "worker")


def test_pytest_configure_saw_workerinput(pytestconfig, mode):
    # conftest's pytest_configure ran with workerinput already set
    want = "worker" if mode == "worker" else "controller"
    assert pytestconfig.compat_configured_as == want


def test_worker_id_shape(worker_id, mode):
    if mode == "serial":
        assert worker_id == "master"
    else:
        assert worker_id.startswith("gw") and worker_id[2:].isdigit()
