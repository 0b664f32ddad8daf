#!/usr/bin/env python3
"""torch2onnx, where mmdeploy users type it: `python tools/torch2onnx.py --help`.

A thin wrapper over mmdeploy_mark.tools.torch2onnx (also installed as the
mmdeploy-torch2onnx command).
"""
import sys

try:
    from mmdeploy_mark.tools.torch2onnx import main
except ImportError as e:
    sys.exit(f"torch2onnx: error: cannot import mmdeploy_mark ({e}). Run it with the "
             f"Python that has the package: .venv/bin/python after "
             f"'bash scripts/setup.sh', or 'pip install .' into your own "
             f"environment first.")

if __name__ == "__main__":
    sys.exit(main())
