"""Every docstring example of the package runs (and must print what it says)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import dln_verify

MODULES = sorted(
    info.name for info in pkgutil.walk_packages(dln_verify.__path__, prefix="dln_verify.")
    if not info.name.endswith("__main__")
)
# the subpackages' folders are mapped into dln_verify by the install; walk them too
for sub in ("symbolic", "numeric", "verify"):
    package = importlib.import_module(f"dln_verify.{sub}")
    MODULES += sorted(info.name for info in pkgutil.walk_packages(package.__path__,
                                                                  prefix=f"dln_verify.{sub}."))
MODULES = sorted(set(MODULES))


def test_every_layer_is_collected():
    for layer in ("symbolic", "numeric", "verify"):
        assert any(m.startswith(f"dln_verify.{layer}.") for m in MODULES), layer


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    tests = finder.find(module, name)
    for test in tests:
        for example in test.examples:
            assert "+SKIP" not in example.source and not example.options.get(doctest.SKIP), (
                f"{test.name}: skipped example")
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} failing example(s) in {name}"
