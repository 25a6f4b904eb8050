"""The db marker maps to group db with limit 2."""
import pytest


@pytest.mark.db
@pytest.mark.parametrize("n", range(4))
def test_db_query(n, nap):
    nap(0.2 + 0.05 * n)


@pytest.mark.db
def test_db_migrate(nap):
    nap(0.3)
