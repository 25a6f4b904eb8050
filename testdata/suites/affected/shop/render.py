"""Pages from templates."""

import pathlib

TEMPLATES = pathlib.Path(__file__).parent / "templates"


def render(name, **values):
    return (TEMPLATES / name).read_text().format(**values)
