"""Export a PyTorch model to ONNX with marks, partition it, and verify it.

Example (the seed's YOLOv3 partition, bundled model, random weights):

  .venv/bin/python tools/torch2onnx.py \\
      configs/mmdet/detection/yolov3_partition_onnxruntime_static.py \\
      examples/yolov3/configs/yolov3_d53_tiny.py none random \\
      --work-dir work-dirs/yolov3 --partition --verify

Writes to --work-dir: the deployable full model (onnx_config.save_file, no
Mark nodes), the marked model (<save_file stem>.marked.onnx, for
re-partitioning later), every partition, summary.json, and with --visualize
partitions.svg.

Exit codes: 0 success; 1 verification failed; 2 bad arguments or config;
3 a partition could not be cut; 4 missing input file.
"""
import argparse
import logging
import sys
from pathlib import Path

EXIT_VERIFY, EXIT_CONFIG, EXIT_PARTITION, EXIT_MISSING = 1, 2, 3, 4


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="torch2onnx.py", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("deploy_cfg", help="deploy config, e.g. configs/mmdet/detection/"
                        "yolov3_partition_onnxruntime_static.py")
    parser.add_argument("model_cfg", help="model config, e.g. "
                        "examples/yolov3/configs/yolov3_d53_tiny.py")
    parser.add_argument("checkpoint", help="state_dict checkpoint (.pth), or 'none' for "
                        "random weights")
    parser.add_argument("img", help="image file used as the export input, or 'random'")
    parser.add_argument("--work-dir", default="work-dirs/torch2onnx",
                        help="output directory (default: %(default)s)")
    parser.add_argument("--device", default="cpu", help="torch device (default: cpu)")
    parser.add_argument("--log-level", default="INFO",
                        choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    parser.add_argument("--partition", action="store_true",
                        help="cut the partitions the deploy config's partition_config lists "
                        "(an error if it has none)")
    parser.add_argument("--verify", action="store_true",
                        help="run the full model and every partition in onnxruntime and "
                        "compare with PyTorch at every boundary (table of max abs errors; "
                        "exit 1 when an error exceeds atol + rtol * max|PyTorch tensor|)")
    parser.add_argument("--visualize", action="store_true",
                        help="draw the marked model with partitions coloured and marks "
                        "labelled to <work-dir>/partitions.svg (needs Graphviz)")
    parser.add_argument("--exporter", choices=["torchscript", "dynamo"], default=None,
                        help="torch's ONNX exporter: torchscript (torch.onnx.export("
                        "dynamo=False)) or dynamo (the torch.export-based one, torch >= 2.8); "
                        "default: this torch's default (recorded in summary.json)")
    parser.add_argument("--atol", type=float, default=1e-4, help="absolute tolerance of --verify")
    parser.add_argument("--rtol", type=float, default=1e-3, help="relative tolerance of --verify")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level, format="[torch2onnx] %(message)s")
    log = logging.getLogger("torch2onnx")
    for path in (args.deploy_cfg, args.model_cfg):
        if not Path(path).is_file():
            print(f"torch2onnx: error: config '{path}' does not exist", file=sys.stderr)
            return EXIT_MISSING
    checkpoint = None if args.checkpoint.lower() == "none" else args.checkpoint
    if checkpoint and not Path(checkpoint).is_file():
        print(f"torch2onnx: error: checkpoint '{checkpoint}' does not exist "
              f"(pass 'none' for random weights)", file=sys.stderr)
        return EXIT_MISSING

    import mmdeploy_mark
    from mmdeploy_mark.pipeline import VerificationError, torch2onnx

    try:
        summary = torch2onnx(args.deploy_cfg, args.model_cfg, checkpoint, args.img,
                             args.work_dir, device=args.device, partition=args.partition,
                             verify_outputs=args.verify, visualize=args.visualize,
                             atol=args.atol, rtol=args.rtol, exporter=args.exporter)
    except VerificationError as e:
        print(f"torch2onnx: error: {e}", file=sys.stderr)
        return EXIT_VERIFY
    except FileNotFoundError as e:
        print(f"torch2onnx: error: {e}", file=sys.stderr)
        return EXIT_MISSING
    except mmdeploy_mark.PartitionError as e:
        print(f"torch2onnx: error: {e}", file=sys.stderr)
        return EXIT_PARTITION
    except (ValueError, TypeError, SyntaxError, ImportError) as e:
        print(f"torch2onnx: error: {e}", file=sys.stderr)
        return EXIT_CONFIG
    log.info("full model:   %s", summary["full_model"]["file"])
    log.info("marked model: %s", summary["marked_model"])
    for part in summary["partitions"]:
        log.info("partition:    %s  inputs %s  outputs %s", part["file"],
                 [i["name"] for i in part["inputs"]], [o["name"] for o in part["outputs"]])
    if "visualization" in summary:
        log.info("drawing:      %s", summary["visualization"])
    if "verification_table" in summary:
        print(summary["verification_table"])
    log.info("summary:      %s", Path(args.work_dir) / "summary.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
