import pytest


@pytest.mark.fast
def test_login_user():
    assert True


@pytest.mark.fast
def test_logout_user():
    assert True


@pytest.mark.slow
@pytest.mark.network
def test_login_admin_remote():
    assert True


@pytest.mark.network
def test_fetch_page():
    assert True


@pytest.mark.network
class TestRemoteApi:
    def test_get(self):
        assert True

    @pytest.mark.slow
    def test_upload(self):
        assert True

    @pytest.mark.db
    def test_sync_to_db(self):
        assert True


def test_unmarked_helper_logic():
    assert True
