"""Tests that change state every test of their process shares: herd runs
them exclusive."""
import os
import signal
import sys
from os import environ

import pytest


def test_environ_assignment():
    os.environ["HERD_DOCTOR"] = "1"  # doctor: environ-assign


def test_environ_del():
    del os.environ["HERD_DOCTOR"]  # doctor: environ-del


def test_environ_update():
    os.environ.update(HERD_DOCTOR="1")  # doctor: environ-update


def test_environ_pop():
    environ.pop("HERD_DOCTOR", None)  # doctor: environ-pop


def test_environ_setdefault():
    os.environ.setdefault("HERD_DOCTOR", "1")  # doctor: environ-setdefault


def test_environ_clear():
    saved = dict(os.environ)
    os.environ.clear()  # doctor: environ-clear
    os.environ.update(saved)  # doctor: environ-clear-restore


def test_putenv():
    os.putenv("HERD_DOCTOR", "1")  # doctor: putenv


def test_chdir():
    os.chdir("/")  # doctor: chdir


def test_sys_path_append():
    sys.path.append("/opt/herd-doctor")  # doctor: sys-path-append


def test_sys_path_insert():
    sys.path.insert(0, "/opt/herd-doctor")  # doctor: sys-path-insert


def test_sys_path_assignment():
    sys.path = ["/opt/herd-doctor"] + sys.path  # doctor: sys-path-assign


def test_signal_handler():
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # doctor: signal


@pytest.fixture
def environ_fixture():
    os.environ["HERD_DOCTOR_FIXTURE"] = "1"  # doctor: fixture-environ
    yield
    os.environ.pop("HERD_DOCTOR_FIXTURE")  # doctor: fixture-environ-pop


def test_uses_environ_fixture(environ_fixture):
    pass


def test_uses_conftest_signal_fixture(usr1_handler):
    pass


def _go_home():
    os.chdir(os.path.expanduser("~"))  # doctor: helper-chdir


class TestInClass:
    def test_chdir_through_helper(self):
        _go_home()
