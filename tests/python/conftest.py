"""Shared fixtures: every test starts from the same global state."""
import importlib
import os
import sys
from pathlib import Path

import pytest
import torch

REPO_ROOT = Path(__file__).resolve().parents[2]
# The examples (examples.yolov3) are imported from the repository root, as
# custom_imports does when the tools run there; tests import them when they
# need them, so the library's own state is what every other test sees.
sys.path.insert(0, str(REPO_ROOT))

import mmdeploy_mark  # noqa: E402
from mmdeploy_mark import marker, rewriter  # noqa: E402


@pytest.fixture(autouse=True)
def _restore_global_state():
    """Restores rewriter registrations and mark counts after each test, and
    fails a test that leaves a RewriterContext open."""
    registrations = dict(mmdeploy_mark.FUNCTION_REWRITER._registrations)
    modules = set(sys.modules)
    marker.reset_mark_function_count()
    torch.manual_seed(0)
    yield
    _forget_modules_of_dropped_rewriters(registrations, modules)
    mmdeploy_mark.FUNCTION_REWRITER._registrations.clear()
    mmdeploy_mark.FUNCTION_REWRITER._registrations.update(registrations)
    marker.reset_mark_function_count()
    assert rewriter.current_context() is None, "a RewriterContext leaked"


def _forget_modules_of_dropped_rewriters(registrations, modules) -> None:
    """A module imported during a test (e.g. by custom_imports) registered
    rewriters that are about to be dropped: forget the module too, so that a
    later import runs it again and registers them again."""
    for key, registration in mmdeploy_mark.FUNCTION_REWRITER._registrations.items():
        name = getattr(registration.rewriter, "__module__", None)
        if name and name not in modules and registrations.get(key) is not registration:
            sys.modules.pop(name, None)


@pytest.fixture
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture
def build_dir() -> Path:
    """The C++ build tree of this platform (scripts/setup.sh's layout)."""
    platform = "debian" if torch.__version__.startswith("1.") else "torch2"
    return Path(os.environ.get("MMDEPLOY_MARK_BUILD_DIR", REPO_ROOT / "build" / platform))


FAKE_PKGS = Path(__file__).parent / "fake_pkgs"


@pytest.fixture
def seed_rewriters(monkeypatch):
    monkeypatch.syspath_prepend(str(FAKE_PKGS))
    yield importlib.import_module("seed_step1_rewriters")
    for name in [m for m in sys.modules if m == "mmdet" or m.startswith("mmdet.")]:
        del sys.modules[name]
    del sys.modules["seed_step1_rewriters"]
