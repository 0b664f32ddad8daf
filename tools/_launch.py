"""Runs one of mmdeploy_mark's command-line tools from tools/, or says how to
get the package when this Python lacks it."""
import importlib
import sys


def run(tool: str) -> None:
    try:
        module = importlib.import_module(f"mmdeploy_mark.tools.{tool}")
    except ImportError as e:
        sys.exit(f"{tool}: error: cannot import mmdeploy_mark ({e}). Run it with "
                 f"the Python that has the package: .venv/bin/python after "
                 f"'bash scripts/setup.sh', or 'pip install .' into your own "
                 f"environment first.")
    sys.exit(module.main())
