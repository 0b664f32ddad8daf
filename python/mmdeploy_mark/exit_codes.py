"""The exit codes of every mmdeploy-mark tool, from the one table in C++.

mmdeploy-partition (C++), torch2onnx and extract (Python) end with the same
code for the same kind of failure, so a script can branch on it whichever
tool it ran. The table lives in ``partition/src/exit_codes.cc``; this module
only names its rows::

    from mmdeploy_mark.exit_codes import EXIT_USAGE, help_table
    parser = argparse.ArgumentParser(epilog=help_table(),
        formatter_class=argparse.RawDescriptionHelpFormatter)
"""
from __future__ import annotations

from typing import Dict, List, Tuple

from . import _partition

__all__ = [
    "EXIT_CODES", "EXIT_OK", "EXIT_VERIFY", "EXIT_USAGE", "EXIT_INPUT",
    "EXIT_MARKER", "EXIT_PARTITION", "EXIT_WRITE", "EXIT_ENVIRONMENT",
    "EXIT_INTERRUPTED", "help_table",
]

#: Every exit code as ``(code, name, meaning)``, in increasing order.
EXIT_CODES: List[Tuple[int, str, str]] = [tuple(row) for row in _partition.EXIT_CODES]

_BY_NAME: Dict[str, int] = {name: code for code, name, _ in EXIT_CODES}


def _code(name: str) -> int:
    try:
        return _BY_NAME[name]
    except KeyError:  # only a mismatched build gets here
        raise ImportError(
            f"mmdeploy_mark._partition has no exit code named '{name}' (it has "
            f"{', '.join(_BY_NAME)}); reinstall the package (pip install .) so "
            "that the Python files and the compiled module match") from None


EXIT_OK = _code("ok")                    #: success
EXIT_VERIFY = _code("verify")            #: an output failed verification
EXIT_USAGE = _code("usage")              #: bad arguments or an invalid config
EXIT_INPUT = _code("input")              #: an input file is missing or malformed
EXIT_MARKER = _code("marker")            #: a marker or tensor name selects nothing
EXIT_PARTITION = _code("partition")      #: the partition cannot be cut
EXIT_WRITE = _code("write")              #: an output could not be written
EXIT_ENVIRONMENT = _code("environment")  #: a device or package is missing
EXIT_INTERRUPTED = _code("interrupted")  #: interrupted (Ctrl-C)


def help_table() -> str:
    """Returns the table as help text, exactly as mmdeploy-partition --help
    prints it: ``"Exit codes:\\n  0  success\\n  1  ...\\n"``."""
    return _partition.exit_code_help()
