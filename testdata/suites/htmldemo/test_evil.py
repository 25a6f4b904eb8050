"""A test id that tries to inject HTML into reports: it must show as text."""
import pytest


@pytest.mark.parametrize(
    "markup",
    ["<b>bold</b>"],
    ids=['<script>alert(1)</script><img src=x onerror="document.body.dataset.pwned=1">'],
)
def test_id_with_markup(markup):
    print("</script><script>document.body.dataset.pwned=2</script>")
    assert markup == "</script>"
