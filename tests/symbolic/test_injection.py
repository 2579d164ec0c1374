"""Injection corpus: user text reaches no Python evaluation and makes nothing hang.

Every string must raise :class:`ExpressionError` from each entry point that takes user text.
The whole corpus is also run in one fresh interpreter, in an empty temporary working directory,
with ``os.system``, ``os.popen`` and ``subprocess.Popen`` wrapped to record calls (and
``builtins.exec``/``eval`` to record calls whose code carries a marker of the corpus):
afterwards the directory must be empty, stdout must be empty, nothing may have been recorded
and no process-spawning module may have been imported.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time

import pytest

from dln_verify.symbolic.horizon import derive_horizon, hyperbolic_entropy, parse_potential
from dln_verify.symbolic.parsing import ExpressionError, parse_expression

CORPUS = [
    "x**2 + __import__('os').system('echo PWNED')",
    "x**2 + 0*len(open('owned.txt','w').write('p')*'a')",
    "__import__('os')",
    "__import__('subprocess').run(['touch', 'owned.txt'])",
    "().__class__.__bases__[0].__subclasses__()",
    "x.__class__",
    "(lambda: open('owned.txt', 'w'))()",
    "[open('owned.txt', 'w') for _ in (1,)]",
    "{k: 1 for k in 'ab'}",
    "f\"{open('owned.txt', 'w')}\"",
    "open('owned.txt', 'w')",
    "exec(\"open('owned.txt','w')\")",
    "eval(\"__import__('os').system('echo PWNED')\")",
    "globals()",
    "locals()['x']",
    "getattr(x, 'func')",
    "x[0]",
    "(y := open('owned.txt', 'w'))",
    "exp(*[x])",
    "exp(x=1)",
    "sympify(\"open('owned.txt','w')\")",
    "Symbol('os')",
    "S('x')",
    "x**2 + \u0455ymbols",  # Cyrillic dze look-alike
    "\uff45\uff58\uff50(x)",  # fullwidth exp, folded to 'exp' by Python's parser
    "x**2" + " + x" * 400,  # very long
    "9**9**9",
    "x**(10**10)",
    "10**10**10*x",
    "(" * 300 + "x" + ")" * 300,  # deep nesting (parser recursion)
    "-" * 900 + "x",
    "x\x00",
    "x**2 # comment",
    "x if x else x",
    "x and x",
    "b'x'",
    "...",
    "None",
    "print('PWNED')",
    "breakpoint()",
    "__builtins__",
    "x**2; import os",
    "import os",
    "x**2\nopen('owned.txt','w')",
    "lambda x: x",
    "exp.__globals__",
]


def test_corpus_is_large():
    assert len(CORPUS) >= 25


@pytest.mark.parametrize("text", CORPUS, ids=range(len(CORPUS)))
def test_every_entry_point_refuses_with_the_parser_error(text, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    start = time.process_time()
    with pytest.raises(ExpressionError) as info:
        parse_expression(text)
    assert str(info.value).startswith("--potential: ") and "\n" not in str(info.value)
    with pytest.raises(ExpressionError, match="^--potential: "):
        parse_potential(text)
    with pytest.raises(ExpressionError, match="^EXPR: "):
        derive_horizon(text)
    with pytest.raises(ExpressionError, match="^alpha: "):
        hyperbolic_entropy(text)
    assert time.process_time() - start < 5.0  # the parser's own limits, not a timeout
    assert list(tmp_path.iterdir()) == []
    assert capsys.readouterr().out == ""


_CHILD = textwrap.dedent(
    """
    import builtins, json, os, subprocess, sys
    calls = []
    markers = ("owned", "PWNED")
    def spy(name, real, only_marked=False):
        def wrapper(*args, **kwargs):
            text = str(args[0]) if args else ""
            if not only_marked or any(m in text for m in markers):
                calls.append(name)
            return real(*args, **kwargs)
        return wrapper
    os.system = spy("os.system", os.system)
    os.popen = spy("os.popen", os.popen)
    subprocess.Popen.__init__ = spy("Popen", subprocess.Popen.__init__)
    builtins.exec = spy("exec", builtins.exec, True)  # SymPy itself uses exec/eval
    builtins.eval = spy("eval", builtins.eval, True)
    from dln_verify.symbolic.horizon import derive_horizon, parse_potential
    from dln_verify.symbolic.parsing import ExpressionError, parse_expression
    corpus = json.loads(sys.stdin.read())
    before = set(sys.modules)
    outcomes = []
    for text in corpus:
        kinds = []
        for func in (parse_expression, parse_potential, derive_horizon):
            try:
                func(text)
                kinds.append("accepted")
            except ExpressionError:
                kinds.append("ExpressionError")
            except BaseException as exc:  # noqa: BLE001 - reported to the parent
                kinds.append(type(exc).__name__)
        outcomes.append(kinds)
    new_modules = sorted(set(sys.modules) - before)
    sys.stderr.write(json.dumps({"outcomes": outcomes, "calls": calls,
                                 "new_modules": new_modules}))
    """
)


def test_corpus_has_no_side_effect_in_a_fresh_interpreter(tmp_path):
    work = tmp_path / "cwd"
    work.mkdir()
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD], input=json.dumps(CORPUS), cwd=work,
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout == ""  # 'echo PWNED' / print would land here
    assert list(work.iterdir()) == []  # open('owned.txt', 'w') would land here
    report = json.loads(proc.stderr.strip().splitlines()[-1])
    assert report["calls"] == []
    assert not [m for m in report["new_modules"] if m.split(".")[0] in {"subprocess", "pty",
                                                                         "shutil", "socket"}]
    for text, kinds in zip(CORPUS, report["outcomes"], strict=True):
        assert kinds == ["ExpressionError"] * 3, (text, kinds)


def test_the_side_effect_check_can_fail(tmp_path):
    """Control: the same harness does see a file written by evaluated text."""
    work = tmp_path / "cwd"
    work.mkdir()
    code = "exec(\"open('owned.txt','w').write('p')\"); print('PWNED')"
    proc = subprocess.run([sys.executable, "-c", code], cwd=work, capture_output=True,
                          text=True, timeout=60)
    assert proc.stdout.strip() == "PWNED"
    assert [p.name for p in work.iterdir()] == ["owned.txt"]
