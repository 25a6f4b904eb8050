"""Pages from templates."""

import pathlib

TEMPLATES = pathlib.Path(__file__).parent / "templates"


def render(template, **values):
    return (TEMPLATES / template).read_text().format(**values)
