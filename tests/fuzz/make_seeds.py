"""Writes the fuzzers' seed inputs: the test suites' marked models (and a few
hostile ones) as serialized bytes for the parse and strip harnesses, and
prefixed with two length-prefixed marker strings for the extract harness.

    python tests/fuzz/make_seeds.py OUT_DIR
"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "python"))

import partition_models as pm  # noqa: E402
import test_hostile as th  # noqa: E402


def prefixed(start: str, end: str, blob: bytes) -> bytes:
    out = b""
    for text in (start, end):
        data = text.encode()[:255]
        out += bytes([len(data)]) + data
    return out + blob


def main(out: Path) -> None:
    models = {
        "chain": (pm.chain_model(), "detector_forward:input", "detector_forward:output"),
        "yolo": (pm.yolo_model(), "detector_forward:input", "yolo_head:input"),
        "base": (th.base_model(), "net:input", "net:output"),
        "reversed": (th.base_model(list(reversed(th.base_nodes()))), "net:input",
                     "net:output"),
        "chain1k": (th.chain_model(1000), "net:input", "net:output"),
    }
    for harness in ("parse", "extract", "strip"):
        (out / harness).mkdir(parents=True, exist_ok=True)
    for name, (model, start, end) in models.items():
        blob = model.SerializeToString()
        (out / "parse" / name).write_bytes(blob)
        (out / "strip" / name).write_bytes(blob)
        (out / "extract" / name).write_bytes(prefixed(start, end, blob))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
