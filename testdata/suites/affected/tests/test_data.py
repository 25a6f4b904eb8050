import json
import pathlib


def test_cases():
    cases = json.loads((pathlib.Path(__file__).parent / "data" / "cases.json").read_text())
    for a, b, total in cases:
        assert a + b == total
