#!/usr/bin/env python3
"""extract, where mmdeploy users type it: `python tools/extract.py --help`.

A thin wrapper over mmdeploy_mark.tools.extract (also installed as the
mmdeploy-extract command).
"""
import sys

try:
    from mmdeploy_mark.tools.extract import main
except ImportError as e:
    sys.exit(f"extract: error: cannot import mmdeploy_mark ({e}). Run it with the "
             f"Python that has the package: .venv/bin/python after "
             f"'bash scripts/setup.sh', or 'pip install .' into your own "
             f"environment first.")

if __name__ == "__main__":
    sys.exit(main())
