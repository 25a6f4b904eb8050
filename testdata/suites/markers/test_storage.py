import pytest

pytestmark = pytest.mark.db


def test_db_insert():
    assert True


@pytest.mark.slow
def test_db_migration():
    assert True


@pytest.mark.parametrize(
    "backend",
    [
        "sqlite",
        pytest.param("postgres", marks=pytest.mark.network),
        pytest.param("bigquery", marks=[pytest.mark.network, pytest.mark.slow]),
    ],
)
def test_backend_roundtrip(backend):
    assert backend


class TestCache:
    @pytest.mark.fast
    def test_cache_hit(self):
        assert True

    def test_cache_miss(self):
        assert True
