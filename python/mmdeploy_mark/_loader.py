"""Loads the C++ op plugin (torch.ops.mmdeploy.mark and the ONNX Mark schema)."""
import json
import os
from pathlib import Path

import torch

PLUGIN_DIR = Path(__file__).resolve().parent / "lib"
PLUGIN_NAME = "libmmdeploy_mark_ops.so"
# Overrides where the plugin is looked for (e.g. an installed copy).
PLUGIN_ENV = "MMDEPLOY_MARK_PLUGIN"

_REBUILD_HINT = ("rebuild it against the running torch: 'pip install .' from the "
                 "source tree (or 'bash scripts/setup.sh' there)")


class PluginLoadError(ImportError):
    """The op plugin is missing, fails to load, or was built for another torch."""


def plugin_path() -> Path:
    """Returns the path the plugin is loaded from."""
    override = os.environ.get(PLUGIN_ENV)
    return Path(override) if override else PLUGIN_DIR / PLUGIN_NAME


def _built_torch_version(path: Path) -> str:
    try:
        info = json.loads((path.parent / "build_info.json").read_text())
        return str(info.get("torch_version", "unknown"))
    except (OSError, ValueError):
        return "unknown"


def _major_minor(version: str) -> str:
    return ".".join(version.split("+")[0].split(".")[:2])


def _op_is_registered() -> bool:
    try:
        torch.ops.mmdeploy.mark  # noqa: B018 - attribute lookup is the check
        return True
    except (AttributeError, RuntimeError):
        return False


def load_plugin() -> Path:
    """Loads the plugin once per process; later calls return at once.

    Returns:
        The path of the loaded library.

    Raises:
        PluginLoadError: the library is missing, cannot be loaded (for
            example it was built against another torch), or did not register
            the op and the ONNX schema. The message names the file, the torch
            versions, and how to rebuild.
    """
    path = plugin_path()
    if _op_is_registered():
        return path
    if not path.is_file():
        raise PluginLoadError(
            f"mmdeploy_mark: the op plugin {path} does not exist; {_REBUILD_HINT}"
            f" (or set {PLUGIN_ENV} to the library's path)")
    built = _built_torch_version(path)
    try:
        torch.ops.load_library(str(path))
    except OSError as e:
        raise PluginLoadError(
            f"mmdeploy_mark: cannot load the op plugin {path}: {e}. It was "
            f"built against torch {built}; the running torch is "
            f"{torch.__version__} ({torch.__file__}). If they differ, or the "
            f"library is stale, {_REBUILD_HINT}") from e
    if built != "unknown" and _major_minor(built) != _major_minor(torch.__version__):
        raise PluginLoadError(
            f"mmdeploy_mark: the op plugin {path} was built against torch "
            f"{built} but the running torch is {torch.__version__}; "
            f"{_REBUILD_HINT}")
    if not _op_is_registered():
        raise PluginLoadError(
            f"mmdeploy_mark: {path} loaded but did not register "
            f"torch.ops.mmdeploy.mark; {_REBUILD_HINT}")
    return path
