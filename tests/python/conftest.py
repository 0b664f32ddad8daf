"""Shared fixtures: every test starts from the same global state."""
import importlib
import os
import sys
from pathlib import Path

import pytest
import torch

import mmdeploy_mark
import mmdeploy_mark.rewriters  # noqa: F401 - registered before the snapshot below
from mmdeploy_mark import marker, rewriter

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _restore_global_state():
    """Restores rewriter registrations and mark counts after each test, and
    fails a test that leaves a RewriterContext open."""
    registrations = dict(mmdeploy_mark.FUNCTION_REWRITER._registrations)
    marker.reset_mark_function_count()
    torch.manual_seed(0)
    yield
    mmdeploy_mark.FUNCTION_REWRITER._registrations.clear()
    mmdeploy_mark.FUNCTION_REWRITER._registrations.update(registrations)
    marker.reset_mark_function_count()
    assert rewriter.current_context() is None, "a RewriterContext leaked"


@pytest.fixture
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture
def build_dir() -> Path:
    return Path(os.environ.get("MMDEPLOY_MARK_BUILD_DIR", REPO_ROOT / "build"))


FAKE_PKGS = Path(__file__).parent / "fake_pkgs"


@pytest.fixture
def seed_rewriters(monkeypatch):
    monkeypatch.syspath_prepend(str(FAKE_PKGS))
    yield importlib.import_module("seed_step1_rewriters")
    for name in [m for m in sys.modules if m == "mmdet" or m.startswith("mmdet.")]:
        del sys.modules[name]
    del sys.modules["seed_step1_rewriters"]
