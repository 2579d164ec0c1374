"""The README shows what the code does: its catalogue table is `dln-verify list --markdown`."""

from __future__ import annotations

import re
from pathlib import Path

from dln_verify.verify.cli import markdown_catalogue

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_catalogue_is_the_registered_catalogue():
    text = README.read_text()
    match = re.search(r"<!-- catalogue:start[^>]*-->\n(.*?)\n<!-- catalogue:end -->", text, re.S)
    assert match, "README.md lost its catalogue markers"
    assert match.group(1).strip() == markdown_catalogue().strip(), (
        "README catalogue is out of date: paste the output of `dln-verify list --markdown`")


def test_readme_quick_start_is_two_commands():
    text = README.read_text()
    quick = text.split("## Quick start", 1)[1].split("## Usage", 1)[0]
    commands = re.findall(r"```bash\n(.*?)\n```", quick, re.S)
    assert commands == ['pip install . && dln-verify report --all --out reports/',
                        'pip install ".[test]" && python -m pytest -m "not slow" -q']
