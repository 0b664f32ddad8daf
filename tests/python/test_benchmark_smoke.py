"""The benchmark runs end to end on its smallest model (numbers are not
asserted: speed targets belong to the benchmark's own report)."""
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_quick_benchmark_measures_every_tool(tmp_path, build_dir):
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts/benchmark.py"), "--quick",
         "--build-dir", str(build_dir), "--work-dir", str(tmp_path),
         "--json", str(tmp_path / "results.json")],
        capture_output=True, text=True, timeout=600, env=dict(os.environ))
    assert result.returncode == 0, result.stderr
    rows = json.loads((tmp_path / "results.json").read_text())
    tools = {row["tool"]: row for row in rows}
    for tool in ("floor (C++ parse + serialize)", "mmdeploy-partition",
                 "mmdeploy-partition --inputs/--outputs",
                 "Python API (with start)"):
        assert tools[tool]["status"] == "ok" and tools[tool]["median_s"] > 0, tools[tool]
    assert "| chain, 1k nodes |" in result.stdout
    # The cut the tools wrote is the same partition.
    import onnx
    cli = onnx.load(str(tmp_path / "out/chain1k/cli.onnx"))
    api = onnx.load(str(tmp_path / "out/chain1k/api.onnx"))
    assert [n.op_type for n in cli.graph.node] == [n.op_type for n in api.graph.node]
    assert len(cli.graph.node) == 1000
    names = onnx.load(str(tmp_path / "out/chain1k/cli_names.onnx"))
    assert [n.op_type for n in names.graph.node] == [n.op_type for n in cli.graph.node]
