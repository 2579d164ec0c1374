"""Every theory citation in the code resolves to a section of ``docs/theory/``.

The theory lives in the repository (``docs/theory/*.md``); code, tests, docstrings and report
texts cite it as ``docs/theory/<page>.md §N.M`` (several sections may follow one page name:
``§1.2, §1.3``, ``§1.2–§1.3``, ``§5.3/§8``). Three rules, checked over the tracked ``*.py`` files
of the packages, tests and benchmarks, the README and the Markdown files under ``docs/``:

1. no mention of theory or design files that are not in the repository;
2. every ``docs/theory/<page>.md §X`` names an existing page with a heading whose text starts with
   ``§X`` (the docs' own relative links ``[text](page.md) §X`` are checked the same way);
3. outside ``docs/``, every ``§`` belongs to such a citation: a page name stands before it on the
   same line, at most ``WINDOW`` characters earlier (paper sections are written "Sec. 3").
"""

from __future__ import annotations

import re
import subprocess
from functools import cache, lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
THEORY = ROOT / "docs" / "theory"
SELF = Path(__file__).resolve()
CODE_DIRS = ("symbolic", "numeric", "verify", "src", "tests", "benchmarks")

#: characters allowed between the end of a page name and a ``§`` it governs (same line)
WINDOW = 80

#: references to files that users of the package cannot follow
OUTSIDE = [
    (re.compile(r"\bTHEORY\b"), "THEORY(.md)"),
    (re.compile(r"DESIGN\.md"), "DESIGN.md"),
    (re.compile(r"ANCHORS\.md"), "ANCHORS.md"),
    (re.compile(r"classification-and-dynamics\.md"), "classification-and-dynamics.md"),
    (re.compile(r"\.\./shared|\bshared/theory"), "../shared"),
    (re.compile(r"(?<!docs/)theory/regression\.md"), "theory/regression.md (not docs/theory/)"),
    (re.compile(r"(?<![\w/.-])regression\.md`{0,2}\s*§"), "regression.md § (not docs/theory/)"),
    (re.compile(r"theory[ -]sheet", re.IGNORECASE), "theory sheet"),
    (re.compile(r"\bsheet(?:['’]s)?`{0,2}\s*[(]?§", re.IGNORECASE), "sheet §"),
]

PAGE = re.compile(r"docs/theory/([\w.-]+\.md)")
LINK = re.compile(r"\[[^\]]*\]\(([\w.-]+\.md)\)")
SECTION = re.compile(r"§(\d+(?:\.\d+)*)")
HEADING = re.compile(r"^#{1,6}\s+§(\d+(?:\.\d+)*)(?=[\s:.]|$)")


def _git_files() -> list[Path] | None:
    try:
        out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                             check=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return [ROOT / line for line in out.splitlines() if line]


@lru_cache(maxsize=1)
def scanned_files() -> tuple[Path, ...]:
    """Tracked ``*.py`` of the code folders, README.md, and every ``docs/**/*.md``."""
    tracked = _git_files()
    if tracked is None:  # not a git checkout (e.g. an sdist): scan the folders
        tracked = [p for d in CODE_DIRS for p in (ROOT / d).rglob("*.py")]
        tracked.append(ROOT / "README.md")
    files = {
        p for p in tracked
        if p.is_file() and (
            (p.suffix == ".py" and p.relative_to(ROOT).parts[0] in CODE_DIRS)
            or p == ROOT / "README.md"
        )
    }
    files.update(p for p in (ROOT / "docs").rglob("*.md") if p.is_file())
    files.discard(SELF)
    return tuple(sorted(files))


def _in_docs(path: Path) -> bool:
    return path.relative_to(ROOT).parts[0] == "docs"


def _lines(path: Path):
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        yield f"{path.relative_to(ROOT)}:{number}", line


@cache
def headings(page: Path) -> frozenset[str]:
    """Section numbers of a page's headings (``## §1.3 Title`` gives ``"1.3"``)."""
    if not page.is_file():
        return frozenset()
    found = set()
    for line in page.read_text(encoding="utf-8").splitlines():
        m = HEADING.match(line)
        if m:
            found.add(m.group(1))
    return frozenset(found)


def _citations(path: Path, line: str):
    """(page path, start of the page name, end of the page name) for each page named on a line."""
    for m in PAGE.finditer(line):
        yield THEORY / m.group(1), m.start(), m.end()
    if _in_docs(path):
        for m in LINK.finditer(line):
            yield (path.parent / m.group(1)).resolve(), m.start(), m.end()


def _governing(path: Path, line: str, pos: int):
    """The page cited nearest before ``pos`` on the line, within ``WINDOW``, or None."""
    best = None
    for page, _start, end in _citations(path, line):
        if end <= pos and pos - end <= WINDOW and (best is None or end > best[1]):
            best = (page, end)
    return None if best is None else best[0]


def test_docs_pages_exist_with_numbered_headings():
    for name in ("index.md", "conventions.md", "regression.md", "classification.md"):
        page = THEORY / name
        assert page.is_file(), f"missing {page.relative_to(ROOT)}"
        assert headings(page), f"{page.relative_to(ROOT)} has no '§N' headings"


def test_no_references_to_files_outside_the_repository():
    bad = []
    for path in scanned_files():
        for where, line in _lines(path):
            for pattern, label in OUTSIDE:
                if pattern.search(line):
                    bad.append(f"{where}: {label}: {line.strip()}")
    assert not bad, (
        "references to files outside the repository (cite docs/theory/<page>.md §N instead):\n"
        + "\n".join(bad)
    )


def test_theory_citations_resolve():
    bad = []
    for path in scanned_files():
        for where, line in _lines(path):
            for page, _, _ in _citations(path, line):
                if not page.is_file():
                    bad.append(f"{where}: no page {page}: {line.strip()}")
            for m in SECTION.finditer(line):
                page = _governing(path, line, m.start())
                if page is None or not page.is_file():
                    continue  # unattributed signs are the next test's business
                if m.group(1) not in headings(page):
                    bad.append(f"{where}: {page.relative_to(ROOT)} has no heading "
                               f"'§{m.group(1)}': {line.strip()}")
    assert not bad, "citations of missing pages or sections:\n" + "\n".join(bad)


def test_every_section_sign_cites_a_theory_page():
    bad = []
    for path in scanned_files():
        if _in_docs(path):
            continue  # the docs number their own sections
        for where, line in _lines(path):
            for m in re.finditer("§", line):
                if _governing(path, line, m.start()) is None:
                    bad.append(f"{where}: '§' without a docs/theory/<page>.md before it on the "
                               f"line: {line.strip()}")
    assert not bad, (
        "every § must follow a docs/theory/<page>.md citation (write paper sections as "
        "'Sec. N'):\n" + "\n".join(bad)
    )
