"""User data from untrusted input (numeric.instances.load_data / load_npz).

Every input either loads as finite float64 arrays ``X`` (n, d), ``y`` (n,) in the supported
scale range, or raises :class:`DataError` (a ValueError) with the one-line message
``"<param>: <what is wrong>"``; never another exception, never a pickle.
"""

from __future__ import annotations

import io
import os
import tempfile
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from dln_verify.numeric.instances import MAX_DATA_BYTES, load_data, load_npz
from dln_verify.numeric.validation import DATA_MAX_ABS_RANGE, DataError

FUZZ = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow])
_DIR = tempfile.TemporaryDirectory(prefix="dln-load-data-")
_counter = iter(range(10**9))


def _write(payload: bytes, suffix: str = ".npz") -> str:
    path = os.path.join(_DIR.name, f"f{next(_counter)}{suffix}")
    with open(path, "wb") as fh:
        fh.write(payload)
    return path


def _npz_bytes(compressed: bool = False, **arrays) -> bytes:
    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buf, **arrays)
    return buf.getvalue()


def _good(seed: int = 0, n: int = 4, d: int = 9) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"X": rng.standard_normal((n, d)), "y": rng.standard_normal(n)}


def _pickled_member(obj) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.array(obj, dtype=object), allow_pickle=True)
    return buf.getvalue()


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for k, v in members.items():
            z.writestr(k, v)
    return buf.getvalue()


def _assert_loaded_or_data_error(data, name: str = "--data"):
    """The property: a valid pair of arrays, or DataError('<name>: ...') on one line."""
    try:
        X, y = load_npz(data) if name == "--data" else load_data(data, name=name)
    except DataError as exc:
        msg = str(exc)
        assert isinstance(exc, ValueError)
        assert msg.startswith(f"{name}: ") and exc.param == name
        assert "\n" not in msg and len(msg) > len(name) + 10
        return None
    assert X.dtype == np.float64 and y.dtype == np.float64
    assert X.ndim == 2 and y.ndim == 1 and X.shape[0] == y.shape[0] >= 1
    assert np.all(np.isfinite(X)) and np.all(np.isfinite(y))
    lo, hi = DATA_MAX_ABS_RANGE
    assert lo <= np.max(np.abs(X)) <= hi and lo <= np.max(np.abs(y)) <= hi
    return X, y


# ------------------------------------------------------------------------------------------
# the audit findings and every documented message
# ------------------------------------------------------------------------------------------


def test_valid_npz_round_trip():
    arrays = _good()
    for compressed in (False, True):
        path = _write(_npz_bytes(compressed, **arrays, extra=np.arange(3)))
        X, y = load_npz(path)
        np.testing.assert_array_equal(X, arrays["X"])
        np.testing.assert_array_equal(y, arrays["y"])
    # integer and bool arrays are converted to float64; pathlib paths work
    from pathlib import Path

    X, y = load_data(Path(_write(_npz_bytes(X=np.eye(2, 3, dtype=np.int32),
                                            y=np.array([True, False])))))
    assert X.dtype == y.dtype == np.float64 and y.tolist() == [1.0, 0.0]


@pytest.mark.parametrize(
    ("payload", "needle"),
    [
        (lambda: _write(np.lib.format.magic(1, 0) + b"x" * 100, ".npy"), "is a .npy file"),
        (lambda: _write(_npz_bytes(**_good())[:200]), "truncated or corrupt"),
        (lambda: _write(b"1 2 3\n4 5 6\n", ".txt"), "not a .npz archive"),
        (lambda: _write(b""), "not a .npz archive"),
        (lambda: _write(_npz_bytes(X=np.ones((2, 3)))), "must contain arrays"),
        (lambda: _write(_npz_bytes(A=np.ones((2, 3)), y=np.ones(2))), "missing X"),
        (lambda: _write(_npz_bytes(X=np.ones((2, 3)) * 1j, y=np.ones(2))), "complex"),
        (lambda: _write(_npz_bytes(X=np.array([["a", "b"]]), y=np.ones(1))), "real numbers"),
        (lambda: _write(_zip({"X.npy": _pickled_member([1.0]), "y.npy": _pickled_member([1.0])})),
         "dtype object"),
        (lambda: _write(_npz_bytes(X=np.full((2, 3), np.nan), y=np.ones(2))), "X must be finite"),
        (lambda: _write(_npz_bytes(X=np.ones((2, 3)), y=[1.0, np.inf])), "y must be finite"),
        (lambda: _write(_npz_bytes(X=np.ones(3), y=np.ones(3))), "X must have 2 axes"),
        (lambda: _write(_npz_bytes(X=np.ones((2, 3)), y=np.ones((2, 1)))), "y must have 1 axis"),
        (lambda: _write(_npz_bytes(X=np.ones((2, 3)), y=np.ones(3))), "length n"),
        (lambda: _write(_npz_bytes(X=np.ones((0, 3)), y=np.ones(0))), "must not be empty"),
        (lambda: _write(_npz_bytes(X=np.ones((2, 3)) * 1e150, y=np.ones(2))), "[1e-100, 1e+100]"),
        (lambda: _write(_npz_bytes(X=np.ones((2, 3)), y=np.ones(2) * 1e-120)), "max |y|"),
        (lambda: _write(_npz_bytes(X=np.ones((2, 3)), y=np.zeros(2))), "identically zero"),
        (lambda: os.path.join(_DIR.name, "does-not-exist.npz"), "no such file"),
        (lambda: _DIR.name, "is a directory"),
    ],
)
def test_each_bad_file_names_the_problem(payload, needle):
    path = payload()
    with pytest.raises(DataError) as info:
        load_npz(path)
    msg = str(info.value)
    assert msg.startswith("--data: ") and needle in msg and "\n" not in msg
    assert "pickled (object)" not in msg or needle == "dtype object"
    with pytest.raises(ValueError, match=r"^data: "):
        load_data(path)


def test_huge_declared_shape_is_refused_before_allocating():
    header = {"descr": "<f8", "fortran_order": False, "shape": (10**8, 10**4)}
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, header)
    member = buf.getvalue() + b"\0" * 64
    path = _write(_zip({"X.npy": member, "y.npy": member}))
    with pytest.raises(DataError, match=f"limit of {MAX_DATA_BYTES} bytes"):
        load_npz(path)


def test_short_member_is_reported_as_truncated():
    good = io.BytesIO()
    np.save(good, np.ones((3, 4)))
    path = _write(_zip({"X.npy": good.getvalue()[:-8], "y.npy": good.getvalue()}))
    with pytest.raises(DataError, match="truncated"):
        load_npz(path)


def test_in_memory_arrays():
    arrays = _good(1)
    for data in ((arrays["X"], arrays["y"]), [arrays["X"].tolist(), arrays["y"].tolist()],
                 arrays):
        X, y = load_data(data, kind="regression")
        np.testing.assert_array_equal(X, arrays["X"])
        assert X.flags.c_contiguous and X.dtype == np.float64
    with pytest.raises(DataError, match="^data: the mapping must have keys 'X' and 'y'"):
        load_data({"X": arrays["X"]})
    with pytest.raises(DataError, match="^data: a sequence must be the pair"):
        load_data((arrays["X"],))
    with pytest.raises(DataError, match="^data: expected a path"):
        load_data(3.5)
    with pytest.raises(DataError, match="^data: X must hold real numbers"):
        load_data((np.array([[{}]], dtype=object), [1.0]))
    with pytest.raises(DataError, match="^data: X must be a numeric array"):
        load_data(([[1.0, 2.0], [3.0]], [1.0, 2.0]))
    with pytest.raises(DataError, match="^data: y must be real-valued"):
        load_data((arrays["X"], arrays["y"] + 0j))


def test_kind_checks():
    arrays = _good(2)
    with pytest.raises(DataError, match="^data: X must have fewer rows than columns"):
        load_data((arrays["X"].T, np.ones(9)), kind="regression")
    X, y = load_data((arrays["X"].T, np.ones(9)), kind="regression",
                     require_underdetermined=False)
    assert X.shape == (9, 4)
    with pytest.raises(DataError, match=r"^data: y must contain labels in \{-1, \+1\}"):
        load_data(arrays, kind="classification")
    labels = np.where(arrays["y"] > 0, 1.0, -1.0)
    X, y = load_data((arrays["X"], labels), kind="classification")
    np.testing.assert_array_equal(y, labels)
    with pytest.raises(ValueError, match="kind"):
        load_data(arrays, kind="ranking")
    with pytest.raises(ValueError, match="require_underdetermined"):
        load_data(arrays, kind="regression", require_underdetermined="yes")
    with pytest.raises(ValueError, match="name"):
        load_data(arrays, name="")


def test_cli_reports_bad_files_on_one_line(capsys):
    from dln_verify.verify.cli import main

    for path in (_write(np.lib.format.magic(1, 0) + b"x" * 100, ".npy"),
                 _write(_npz_bytes(**_good())[:200]), _write(b"1 2 3\n", ".txt")):
        with pytest.raises(SystemExit) as info:
            main(["check", "gf-hypentropy", "--data", path])
        err = capsys.readouterr().err
        assert info.value.code == 2 and "--data: " in err and len(err.strip().splitlines()) == 1
        assert "Traceback" not in err and "pickled" not in err


# ------------------------------------------------------------------------------------------
# fuzzing
# ------------------------------------------------------------------------------------------

_MAGICS = st.sampled_from([b"", b"PK\x03\x04", b"PK\x05\x06", b"\x93NUMPY", b"\x93NUMPY\x01\x00"])


@FUZZ
@given(prefix=_MAGICS, body=st.binary(max_size=600))
def test_fuzz_random_bytes(prefix, body):
    _assert_loaded_or_data_error(_write(prefix + body))


_REAL_NPZ = [_npz_bytes(False, **_good(3)), _npz_bytes(True, **_good(4, 6, 20))]


@FUZZ
@given(which=st.sampled_from([0, 1]), frac=st.floats(0.0, 1.0))
def test_fuzz_truncated_real_npz(which, frac):
    payload = _REAL_NPZ[which]
    cut = int(frac * len(payload))
    result = _assert_loaded_or_data_error(_write(payload[:cut]))
    assert result is None or cut == len(payload)


@FUZZ
@given(which=st.sampled_from([0, 1]), data=st.data())
def test_fuzz_corrupted_real_npz(which, data):
    payload = bytearray(_REAL_NPZ[which])
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(payload) - 1))
        payload[pos] = data.draw(st.integers(0, 255))
    _assert_loaded_or_data_error(_write(bytes(payload)))


_DTYPES = st.sampled_from(["<f8", "<f4", "<f2", "<i8", "<u1", "|b1", "<c16", "<U3", "<M8[s]",
                           "<m8[s]", "|V8"])
_VALUES = st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=64),
                    st.sampled_from([0.0, 1.0, -1.0, 1e-200, 1e200, 1e120, 1e-120]))


@st.composite
def _arrays(draw):
    dtype = np.dtype(draw(_DTYPES))
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4))
    if dtype.kind in "fc":
        arr = draw(hnp.arrays(np.float64, shape, elements=_VALUES))
        with np.errstate(over="ignore", invalid="ignore"):
            return arr.astype(dtype)
    if dtype.kind == "V":
        return np.zeros(shape, dtype=dtype)
    return draw(hnp.arrays(dtype, shape))


@FUZZ
@given(members=st.dictionaries(st.sampled_from(["X", "y", "Z", "X.npy"]), _arrays(),
                               max_size=3),
       compressed=st.booleans())
def test_fuzz_npz_with_wrong_keys_dtypes_shapes(members, compressed):
    _assert_loaded_or_data_error(_write(_npz_bytes(compressed, **members)))


@FUZZ
@given(X=_arrays(), y=_arrays(), as_mapping=st.booleans())
def test_fuzz_in_memory(X, y, as_mapping):
    _assert_loaded_or_data_error({"X": X, "y": y} if as_mapping else (X, y), name="data")


@FUZZ
@given(good_x=st.booleans(), obj=st.sampled_from([[1.0, 2.0], {"a": 1}, [None], "text"]))
def test_fuzz_object_members_never_unpickled(good_x, obj):
    x = io.BytesIO()
    np.save(x, np.ones((2, 3)))
    members = {"X.npy": x.getvalue() if good_x else _pickled_member(obj),
               "y.npy": _pickled_member(obj)}
    with pytest.raises(DataError, match="dtype object"):
        load_npz(_write(_zip(members)))
