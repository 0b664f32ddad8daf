#!/usr/bin/env python3
"""torch2onnx, where mmdeploy users type it: `python tools/torch2onnx.py --help`.
A thin wrapper over mmdeploy_mark.tools.torch2onnx (also installed as the
mmdeploy-torch2onnx command)."""
if __name__ == "__main__":
    from _launch import run

    run("torch2onnx")
