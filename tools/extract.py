#!/usr/bin/env python3
"""extract, where mmdeploy users type it: `python tools/extract.py --help`.
A thin wrapper over mmdeploy_mark.tools.extract (also installed as the
mmdeploy-extract command)."""
if __name__ == "__main__":
    from _launch import run

    run("extract")
