"""``custom_imports`` in a config: modules to import before the model is built
and exported (the mmengine/mmdeploy convention)::

    custom_imports = dict(imports=['my_project.rewriters'],
                          allow_failed_imports=False)

Importing a module is what registers its rewriters (and defines its model
classes), so a config names the code it needs and the library registers
nothing of its own. ``imports`` is a module name or a list of them, absolute
and dotted. They resolve from the current working directory first, as with
``python -m``: mmdeploy users run ``python tools/torch2onnx.py`` from their
repository root, where Python puts ``tools/`` rather than the root on
sys.path. Then sys.path as it is. A module imported before is not imported
again (Python's rule), wherever it came from.
"""
import contextlib
import importlib
import os
import sys
import warnings
from types import ModuleType
from typing import Any, Iterator, List, Mapping, Tuple

__all__ = ["CUSTOM_IMPORTS_KEY", "CustomImportWarning", "import_custom_modules"]

CUSTOM_IMPORTS_KEY = "custom_imports"
_KEYS = ("imports", "allow_failed_imports")
_EXAMPLE = "dict(imports=['pkg.module', ...], allow_failed_imports=False)"


class CustomImportWarning(UserWarning):
    """A custom_imports module failed to import and the config allows it."""


def import_custom_modules(cfg: Mapping[str, Any]) -> List[ModuleType]:
    """Imports the modules ``cfg['custom_imports']`` names, in order.

    Args:
        cfg: a loaded config (:func:`mmdeploy_mark.load_config`) or a plain
            mapping; a config without ``custom_imports`` imports nothing.

    Returns:
        The modules imported (those that failed under
        ``allow_failed_imports=True`` are left out).

    Raises:
        TypeError, ValueError: ``custom_imports`` is malformed (the message
            names the config file and the key).
        ImportError: a module failed to import and ``allow_failed_imports``
            is not True (the message names the module, the config file, the
            key and the cause, which is also chained).

    Warns:
        CustomImportWarning: a module failed to import and
            ``allow_failed_imports=True``; the others are still imported.
    """
    where = getattr(cfg, "filename", None) or "<config dict>"
    spec = cfg.get(CUSTOM_IMPORTS_KEY)
    if spec is None:
        return []
    names, allow_failed = _parse(spec, where)
    modules: List[ModuleType] = []
    with _cwd_first() as cwd:
        for key, name in names:
            try:
                modules.append(importlib.import_module(name))
            except Exception as e:  # a module may fail in any way; report it
                message = (f"{where}: '{key}': cannot import {name!r}: "
                           f"{type(e).__name__}: {e}")
                if not allow_failed:
                    raise ImportError(
                        f"{message}. Modules resolve from the current "
                        f"directory ({cwd}), then sys.path: run from the "
                        f"directory that holds the package, install it, or "
                        f"set {CUSTOM_IMPORTS_KEY}.allow_failed_imports=True "
                        f"to go on without it", name=name) from e
                warnings.warn(f"{message}; going on without it "
                              f"({CUSTOM_IMPORTS_KEY}.allow_failed_imports="
                              f"True)", CustomImportWarning, stacklevel=2)
    return modules


def _parse(spec: Any, where: str) -> Tuple[List[Tuple[str, str]], bool]:
    """Checks ``custom_imports``; returns [(key, module name)] and
    allow_failed_imports."""
    key = CUSTOM_IMPORTS_KEY
    if not isinstance(spec, Mapping):
        raise TypeError(f"{where}: '{key}' must be a dict like {_EXAMPLE}, "
                        f"got {type(spec).__name__} {spec!r}")
    unknown = [str(k) for k in spec if k not in _KEYS]
    if unknown:
        # A misspelt 'imports' would otherwise import nothing, silently.
        raise ValueError(f"{where}: '{key}' has unknown key(s) "
                         f"{', '.join(unknown)}; it takes {', '.join(_KEYS)}")
    if "imports" not in spec:
        raise ValueError(f"{where}: '{key}' has no 'imports'; write {_EXAMPLE}")
    imports = spec["imports"]
    if isinstance(imports, str):
        names = [(f"{key}.imports", imports)]
    elif isinstance(imports, (list, tuple)):
        names = [(f"{key}.imports[{i}]", n) for i, n in enumerate(imports)]
    else:
        raise TypeError(f"{where}: '{key}.imports' must be a module name or a "
                        f"list of module names, got {type(imports).__name__} "
                        f"{imports!r}")
    for item_key, name in names:
        _check_module_name(name, item_key, where)
    allow_failed = spec.get("allow_failed_imports", False)
    if not isinstance(allow_failed, bool):
        raise TypeError(f"{where}: '{key}.allow_failed_imports' must be True "
                        f"or False, got {type(allow_failed).__name__} "
                        f"{allow_failed!r}")
    return names, allow_failed


def _check_module_name(name: Any, key: str, where: str) -> None:
    if not isinstance(name, str):
        raise TypeError(f"{where}: '{key}' must be a module name string such "
                        f"as 'pkg.module', got {type(name).__name__} {name!r}")
    if not all(part.isidentifier() for part in name.split(".")):
        dotted = name[:-3] if name.endswith(".py") else name
        dotted = dotted.strip("./").replace("/", ".").replace(os.sep, ".")
        hint = f" (did you mean {dotted!r}?)" if dotted != name and all(
            p.isidentifier() for p in dotted.split(".")) else ""
        raise ValueError(f"{where}: '{key}' {name!r} is not an absolute dotted "
                         f"module name such as 'pkg.module'{hint}; file paths "
                         f"and relative names are not accepted")


@contextlib.contextmanager
def _cwd_first() -> Iterator[str]:
    """Puts the current directory first on sys.path while importing.

    Only for the imports themselves: sys.path is left as it was, and what
    was imported stays in sys.modules, so the builder later finds e.g.
    ``pkg.model.Net`` through the already imported package ``pkg``.
    """
    cwd = os.getcwd()
    sys.path.insert(0, cwd)
    # Files written since the last import (a generated module, a test's
    # tmp_path) are only seen after the finders' directory caches are reset.
    importlib.invalidate_caches()
    try:
        yield cwd
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(cwd)  # the first occurrence: the one added above
