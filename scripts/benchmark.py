#!/usr/bin/env python3
"""Benchmark of the partition engine against the protobuf floor and its peers.

    bash scripts/benchmark.sh            # every model, 5 runs (tens of minutes)
    bash scripts/benchmark.sh --quick    # the 1k-node chain, 1 run (a smoke test)

Generates its own models (chains of Conv+Relu with marks at both ends;
torchvision's resnet50 and vit_b_16 with random weights and marks, when
torchvision is installed; a model with 2.25 GiB of external data), cuts the
largest partition the marks allow, and prints one table: for every tool, the
median wall time of the runs, its ratio to the floor (a C++ program that
reads, parses, serializes and writes the model with protobuf), and the
largest peak RSS. Every measurement is a process of its own, runs are
interleaved (run 1 of every tool, then run 2, ...), and a tool that passes
the timeout is not run again on that model.

Tools: floor; mmdeploy-partition (the CLI, default options) at the marks and
at the same boundaries by tensor name (--inputs/--outputs); the Python API
(extract_partition(path, ..., save_file=...), including interpreter start
and import); python -c "import mmdeploy_mark" (what the API's number
includes before any work); onnx.utils.extract_model of the onnx package of
this interpreter; polygraphy surgeon extract when polygraphy is installed.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = Path(__file__).resolve().parents[1]
GNU_TIME = "/usr/bin/time"  # Debian's package `time` (scripts/benchmark.sh installs it)


@dataclass
class Model:
    name: str
    path: Path
    start: str            # marker of the cut's start
    end: str              # marker of the cut's end
    input_tensor: str     # the same cut in tensor names (for the peers)
    output_tensor: str
    weight_bytes: int = 0


@dataclass
class Result:
    times: List[float] = field(default_factory=list)
    rss_kib: List[int] = field(default_factory=list)
    status: str = "ok"


def mark(output: str, tensor: str, func: str, io_type: str, shape: List[int]) -> onnx.NodeProto:
    node = helper.make_node("Mark", [tensor], [output], domain="mmdeploy", func=func,
                            func_id=0, type=io_type, id=0, dtype=TensorProto.FLOAT,
                            shape=shape)
    node.attribute.append(helper.make_attribute("name", tensor))
    return node


def opsets() -> List[onnx.OperatorSetIdProto]:
    return [helper.make_opsetid("", 13), helper.make_opsetid("mmdeploy", 1)]


def chain(nodes: int, directory: Path) -> Model:
    """x -> Mark -> (Conv 3x3 + Relu) * nodes/2 -> Mark -> y, 4 channels."""
    path = directory / f"chain_{nodes}.onnx"
    if not path.exists():
        rng = np.random.default_rng(0)
        shape = [1, 4, 8, 8]
        graph_nodes = [mark("x_m", "x", "net", "input", shape)]
        inits = []
        prev = "x_m"
        for i in range(nodes // 2):
            w = numpy_helper.from_array(rng.standard_normal((4, 4, 3, 3)).astype(np.float32) * .2,
                                        f"w{i}")
            b = numpy_helper.from_array(np.zeros(4, np.float32), f"b{i}")
            inits += [w, b]
            graph_nodes.append(helper.make_node("Conv", [prev, w.name, b.name], [f"c{i}"],
                                                pads=[1, 1, 1, 1]))
            graph_nodes.append(helper.make_node("Relu", [f"c{i}"], [f"r{i}"]))
            prev = f"r{i}"
        graph_nodes.append(mark("y", prev, "net", "output", shape))
        graph = helper.make_graph(
            graph_nodes, "chain", [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)], inits,
            value_info=[helper.make_tensor_value_info("x_m", TensorProto.FLOAT, shape)])
        # Declared shapes everywhere, as exporters write them (the peers need them).
        proto = onnx.shape_inference.infer_shapes(
            helper.make_model(graph, ir_version=8, opset_imports=opsets()))
        onnx.save(proto, str(path))
    return Model(f"chain, {nodes // 1000}k nodes", path, "net:input", "net:output",
                 "x_m", f"r{nodes // 2 - 1}")


def external_data_model(directory: Path, tensors: int = 9, side: int = 8192) -> Model:
    """MatMul chain whose weights (tensors * side^2 floats: 2.25 GiB by
    default) live in one external data file."""
    path = directory / "large" / "large.onnx"
    weight_bytes = tensors * side * side * 4
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        data_path = path.parent / "large.onnx.data"
        chunk = (np.full((side // 8, side), 1.0 / side, np.float32)).tobytes()
        inits = []
        with open(data_path, "wb") as data:
            for i in range(tensors):
                offset = data.tell()
                for _ in range(8):
                    data.write(chunk)
                tensor = TensorProto(name=f"w{i}", data_type=TensorProto.FLOAT,
                                     dims=[side, side])
                tensor.data_location = TensorProto.EXTERNAL
                for key, value in (("location", data_path.name), ("offset", str(offset)),
                                   ("length", str(side * side * 4))):
                    tensor.external_data.add(key=key, value=value)
                inits.append(tensor)
        shape = [1, side]
        nodes = [mark("x_m", "x", "net", "input", shape)]
        prev = "x_m"
        for i in range(tensors):
            nodes.append(helper.make_node("MatMul", [prev, f"w{i}"], [f"m{i}"]))
            prev = f"m{i}"
        nodes.append(mark("y", prev, "net", "output", shape))
        graph = helper.make_graph(
            nodes, "large", [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)], inits)
        onnx.save(helper.make_model(graph, ir_version=8, opset_imports=opsets()), str(path))
    return Model("2.25 GiB external data", path, "net:input", "net:output", "x_m",
                 f"m{tensors - 1}", weight_bytes)


def torchvision_model(name: str, directory: Path) -> Optional[Model]:
    """torchvision's `name` with random weights, marked at its input and
    before its classifier, exported with mmdeploy_mark.export."""
    path = directory / f"{name}.onnx"
    if not path.exists():
        try:
            import torch
            import torchvision
        except ImportError:
            return None
        import mmdeploy_mark

        net = getattr(torchvision.models, name)(weights=None).eval()

        class Marked(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.net = net

            def forward(self, x):
                @mmdeploy_mark.mark("net", inputs=["image"], outputs=["logits"])
                def body(x):
                    return self.net(x)

                return body(x)

        with torch.no_grad():
            mmdeploy_mark.export(Marked(), torch.randn(1, 3, 224, 224), str(path),
                                 exporter="torchscript", opset_version=17,
                                 input_names=["input"], output_names=["out"])
    proto = onnx.load(str(path), load_external_data=False)
    marks = [n for n in proto.graph.node if n.domain == "mmdeploy"]
    return Model(name, path, "net:input", "net:output", marks[0].output[0], marks[-1].input[0])


def measure(command: List[str], timeout: float, env: Dict[str, str]) -> tuple:
    """(wall seconds, peak RSS KiB, exit code, stderr) of one process.

    The peak RSS comes from GNU time, a small process that execs the tool:
    a child forked from this interpreter would be charged the pages it
    shares with it before exec."""
    rss_file = Path(env["BENCHMARK_RSS_FILE"])
    started = time.perf_counter()
    process = subprocess.Popen([GNU_TIME, "-f", "%M", "-o", str(rss_file), *command],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    deadline = started + timeout
    while True:
        pid, status, _ = os.wait4(process.pid, os.WNOHANG)
        if pid:
            wall = time.perf_counter() - started
            process.returncode = os.waitstatus_to_exitcode(status)
            stderr = process.stderr.read().decode(errors="replace")
            lines = rss_file.read_text().split() if rss_file.exists() else []
            rss = int(lines[-1]) if lines and lines[-1].isdigit() else None
            return wall, rss, process.returncode, stderr
        if time.perf_counter() > deadline:
            process.kill()
            os.wait4(process.pid, 0)
            return None, None, None, "timeout"
        time.sleep(0.002)


def tools(model: Model, out: Path, exes: Dict[str, Path], python: str) -> Dict[str, List[str]]:
    api = ("import mmdeploy_mark as m; "
           f"m.extract_partition({str(model.path)!r}, {model.start!r}, {model.end!r}, "
           f"save_file={str(out / 'api.onnx')!r})")
    peer = ("import onnx.utils; "
            f"onnx.utils.extract_model({str(model.path)!r}, {str(out / 'onnx.onnx')!r}, "
            f"[{model.input_tensor!r}], [{model.output_tensor!r}])")
    commands = {
        "floor (C++ parse + serialize)": [str(exes["floor"]), str(model.path),
                                          str(out / "floor.onnx")],
        "mmdeploy-partition": [str(exes["cli"]), str(model.path), "--start", model.start,
                               "--end", model.end, "-o", str(out / "cli.onnx"), "-q"],
        # The same cut at tensor names (issue 11): what a foreign model gets.
        "mmdeploy-partition --inputs/--outputs": [
            str(exes["cli"]), str(model.path), "--inputs", model.input_tensor,
            "--outputs", model.output_tensor, "-o", str(out / "cli_names.onnx"), "-q"],
        "Python API (with start)": [python, "-c", api],
        "python -c 'import mmdeploy_mark'": [python, "-c", "import mmdeploy_mark"],
        f"onnx {onnx.__version__} extract_model": [python, "-c", peer],
    }
    polygraphy = shutil.which("polygraphy") or str(Path(python).parent / "polygraphy")
    if Path(polygraphy).exists():
        commands["polygraphy surgeon extract"] = [
            polygraphy, "surgeon", "extract", str(model.path), "--inputs",
            f"{model.input_tensor}:auto:auto", "--outputs", f"{model.output_tensor}:auto",
            "-o", str(out / "polygraphy.onnx")]
    return commands


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build-dir", type=Path, required=True,
                        help="a build tree with mmdeploy-partition and the floor program")
    parser.add_argument("--work-dir", type=Path, default=ROOT / "build" / "benchmark",
                        help="where models are generated (kept for later runs) and cut")
    parser.add_argument("--models", default="chain1k,chain10k,chain100k,resnet50,vit_b_16,large",
                        help="comma-separated: chain1k, chain10k, chain100k, resnet50, "
                        "vit_b_16, large (default: all)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=300.0,
                        help="seconds per measurement; slower tools are dropped")
    parser.add_argument("--quick", action="store_true",
                        help="smoke test: chain1k, one run")
    parser.add_argument("--json", type=Path, help="also write the results as JSON")
    args = parser.parse_args(argv)
    if args.quick:
        args.models, args.runs = "chain1k", 1
    exes = {"cli": args.build_dir / "partition/tools/mmdeploy-partition",
            "floor": args.build_dir / "benchmarks/mmdeploy-partition-floor"}
    for exe in exes.values():
        if not exe.is_file():
            sys.exit(f"benchmark: {exe} is missing; build the tree with the tests on "
                     f"(bash scripts/setup.sh does)")
    models_dir = args.work_dir / "models"
    models_dir.mkdir(parents=True, exist_ok=True)
    makers = {"chain1k": lambda: chain(1000, models_dir),
              "chain10k": lambda: chain(10000, models_dir),
              "chain100k": lambda: chain(100000, models_dir),
              "resnet50": lambda: torchvision_model("resnet50", models_dir),
              "vit_b_16": lambda: torchvision_model("vit_b_16", models_dir),
              "large": lambda: external_data_model(models_dir)}
    if not Path(GNU_TIME).exists():
        sys.exit(f"benchmark: {GNU_TIME} is missing (apt-get install time)")
    env = dict(os.environ, OMP_NUM_THREADS="1",
               BENCHMARK_RSS_FILE=str(args.work_dir / "rss.txt"))
    rows = []
    for key in args.models.split(","):
        if key not in makers:
            sys.exit(f"benchmark: unknown model '{key}' (known: {', '.join(makers)})")
        print(f"[benchmark] preparing {key} ...", file=sys.stderr, flush=True)
        model = makers[key]()
        if model is None:
            print(f"[benchmark] {key}: skipped (torchvision is not installed)", file=sys.stderr)
            continue
        out = args.work_dir / "out" / key
        out.mkdir(parents=True, exist_ok=True)
        commands = tools(model, out, exes, sys.executable)
        results = {name: Result() for name in commands}
        for run in range(args.runs):
            for name, command in commands.items():
                result = results[name]
                if result.status != "ok":
                    continue
                wall, rss, code, stderr = measure(command, args.timeout, env)
                if wall is None:
                    result.status = f"> {args.timeout:.0f} s"
                elif code != 0:
                    result.status = f"failed ({stderr.strip().splitlines()[-1][:60]})" \
                        if stderr.strip() else f"exit {code}"
                else:
                    result.times.append(wall)
                    result.rss_kib.append(rss)
            print(f"[benchmark] {key}: run {run + 1}/{args.runs} done", file=sys.stderr,
                  flush=True)
        size = model.path.stat().st_size + model.weight_bytes
        floor = results["floor (C++ parse + serialize)"]
        floor_time = statistics.median(floor.times) if floor.times else None
        for name, result in results.items():
            median = statistics.median(result.times) if result.times else None
            rows.append({
                "model": model.name, "size_mib": size / 2**20, "tool": name,
                "median_s": median, "runs": len(result.times),
                "ratio": median / floor_time if median and floor_time else None,
                "peak_rss_mib": max(result.rss_kib) / 1024 if result.rss_kib else None,
                "status": result.status})
    print("| model | size | tool | median wall | ratio to floor | peak RSS | runs |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for row in rows:
        median = f"{row['median_s']:.3f} s" if row["median_s"] is not None else row["status"]
        ratio = f"{row['ratio']:.2f}x" if row["ratio"] is not None else "-"
        rss = f"{row['peak_rss_mib']:.0f} MiB" if row["peak_rss_mib"] is not None else "-"
        print(f"| {row['model']} | {row['size_mib']:.0f} MiB | {row['tool']} | {median} | "
              f"{ratio} | {rss} | {row['runs']} |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
