"""Safe look-alikes of the risks herd doctor reports: none is a finding."""
import os
import socket
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from unittest import mock

import pytest

CONFIG = "/etc/passwd"


def test_monkeypatch_setenv(monkeypatch):
    monkeypatch.setenv("HERD_DOCTOR_CLEAN", "1")
    monkeypatch.delenv("HERD_DOCTOR_CLEAN")
    assert "HERD_DOCTOR_CLEAN" not in os.environ


def test_environ_read_and_copies():
    env = dict(os.environ)
    env["HERD_DOCTOR_CLEAN"] = "1"
    other = os.environ.copy()
    other.update(HERD_DOCTOR_CLEAN="2")
    del other["HERD_DOCTOR_CLEAN"]
    assert os.environ.get("HERD_DOCTOR_CLEAN") is None
    assert "HERD_DOCTOR_CLEAN" not in os.environ


def test_mock_patch_dict_environ():
    with mock.patch.dict(os.environ, {"HERD_DOCTOR_CLEAN": "1"}):
        assert os.environ["HERD_DOCTOR_CLEAN"] == "1"


def test_fixture_with_monkeypatch(scratch_env):
    assert scratch_env == "1"


def test_monkeypatch_chdir(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert Path.cwd() == tmp_path


def test_monkeypatch_syspath(monkeypatch, tmp_path):
    monkeypatch.syspath_prepend(str(tmp_path))
    paths = list(sys.path)
    paths.append("/opt/elsewhere")
    assert str(tmp_path) in sys.path


def test_tmp_path_writes(tmp_path):
    (tmp_path / "a.txt").write_text("a")
    with open(tmp_path / "b.txt", "w") as f:
        f.write("b")
    with open(os.path.join(str(tmp_path), "c.txt"), "a") as f:
        f.write("c")
    target = tmp_path / "d.txt"
    target.write_bytes(b"d")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.txt", "c.txt", "d.txt"]


def test_tmpdir_and_factory(tmpdir, tmp_path_factory):
    tmpdir.join("x.txt").write("x")
    d = tmp_path_factory.mktemp("data")
    (d / "y.txt").write_text("y")
    assert (d / "y.txt").read_text() == "y"


def test_read_absolute_paths():
    with open("/etc/passwd") as f:
        assert f.read()
    with open(CONFIG, "rb") as f:
        assert f.read()
    assert Path("/etc/passwd").read_text()


def test_devnull_and_strings():
    with open(os.devnull, "w") as f:
        f.write("x")
    with open("/dev/null", "w") as f:
        f.write("x")
    assert "/tmp/x".replace("x", "y") == "/tmp/y"
    assert ", ".join(["a", "b"]) == "a, b"


def test_joined_thread():
    results = []
    t = threading.Thread(target=results.append, args=(1,))
    t.start()
    t.join()
    assert results == [1]


def test_joined_threads_in_loops():
    results = []
    threads = [threading.Thread(target=results.append, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [0, 1, 2]


def test_thread_pool_executor():
    with ThreadPoolExecutor(max_workers=2) as ex:
        assert list(ex.map(abs, [-1, -2])) == [1, 2]


def test_subprocess_without_new_session():
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    out = subprocess.check_output([sys.executable, "-c", "print(1)"])
    assert out.strip() == b"1"


def test_port_zero():
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", 0))
        s.listen(128)
        assert s.getsockname()[1] > 0
    finally:
        s.close()


def test_client_to_fixed_port():
    s = socket.socket()
    s.settimeout(0.1)
    try:
        s.connect_ex(("127.0.0.1", 9))
    finally:
        s.close()


@pytest.mark.parallel_unsafe
def test_already_marked_parallel_unsafe():
    old = os.environ.get("HERD_DOCTOR_MARKED")
    os.environ["HERD_DOCTOR_MARKED"] = "1"
    if old is None:
        del os.environ["HERD_DOCTOR_MARKED"]
    else:
        os.environ["HERD_DOCTOR_MARKED"] = old


class TestPlain:
    def test_arithmetic(self):
        assert 1 + 1 == 2

    @pytest.mark.parametrize("n", [1, 2])
    def test_parametrized(self, n):
        assert n > 0


if __name__ == "__main__":
    os.chdir("/")
