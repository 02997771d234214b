"""The binding itself: installed package, version check, tables kept in step with the header."""
from __future__ import annotations

import dataclasses
import pathlib
import subprocess
import sys

import pytest

import managedws
from managedws import _errors, _ffi, _options, _types


def test_installed_package_is_tested():
    assert "site-packages" in pathlib.Path(managedws.__file__).parts
    assert (pathlib.Path(managedws.__file__).parent / "py.typed").exists()


def test_version_matches_header_and_library():
    assert managedws.__version__ == "%d.%d.%d" % managedws.HEADER_VERSION
    assert managedws.LIBRARY_VERSION == managedws.HEADER_VERSION
    from importlib.metadata import version

    assert version("managedws") == managedws.__version__


def test_version_mismatch_detected():
    _ffi.check_version((0, 1, 0), (0, 1, 3))  # newer patch or minor: fine
    _ffi.check_version((0, 1, 0), (0, 2, 0))
    with pytest.raises(ImportError, match="reinstall"):
        _ffi.check_version((0, 2, 0), (0, 1, 0))  # library older than the header
    with pytest.raises(ImportError):
        _ffi.check_version((1, 0, 0), (0, 9, 9))


def test_every_c_error_code_has_a_class():
    for code, name in _ffi.ffi.typeof("mws_err").elements.items():
        if code == 0:
            continue
        exc = _errors.error_for(code)
        assert type(exc) is not managedws.ManagedWSError, name
        assert exc.code == code and exc.name == name
        assert str(exc) == _ffi.ffi.string(_ffi.lib.mws_strerror(code)).decode()
    assert issubclass(managedws.InvalidArgument, ValueError)
    assert issubclass(managedws.Timeout, TimeoutError)


def test_every_client_config_field_is_an_option():
    c_fields = {name for name, _ in _ffi.ffi.typeof("mws_client_config").fields}
    mapped = {o.field for o in _options.CLIENT_OPTIONS} | {"size", "close_rule_count"}
    assert c_fields == mapped
    for o in _options.CLIENT_OPTIONS:
        assert o.name in managedws.Client.__doc__


def test_every_stats_field_is_in_the_dataclass():
    c_fields = {name for name, _ in _ffi.ffi.typeof("mws_client_stats").fields} - {"size"}
    assert c_fields == {f.name for f in dataclasses.fields(managedws.ClientStats)}


def test_enums_match_the_header():
    for st in managedws.State:
        assert _ffi.ffi.string(_ffi.lib.mws_state_name(st)).decode() == st.name


def test_python_m_managedws_prints_version():
    p = subprocess.run([sys.executable, "-m", "managedws"], capture_output=True, text=True,
                       timeout=30, cwd="/")
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("managedws %s " % managedws.__version__)


def test_python_m_managedws_client(ws_server):
    p = subprocess.run([sys.executable, "-m", "managedws", ws_server.url, "--send", "hi",
                        "--send", "there", "--count", "2", "--timeout", "10"],
                       capture_output=True, text=True, timeout=30, cwd="/")
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["hi", "there"]
    assert "CONNECTING -> CONNECTED" in p.stderr
