"""Export a PyTorch model to ONNX with marks, cut the partitions its deploy
config asks for, and verify them (mmdeploy's tools/torch2onnx.py).

Example (the seed's YOLOv3 partition, bundled model, random weights):

  python tools/torch2onnx.py \\
      configs/mmdet/detection/yolov3_partition_onnxruntime_static.py \\
      examples/yolov3/configs/yolov3_d53_tiny.py none random \\
      --work-dir work-dirs/yolov3 --verify

Writes to --work-dir: the deployable full model (onnx_config.save_file, no
Mark nodes), the marked model (<save_file stem>.marked.onnx, for
re-partitioning later), every partition of partition_config.partition_cfg
(when the deploy config has a partition_config with apply_marks=True, as in
mmdeploy), summary.json (every file of the run, the verification table, the
command), report.html (the same for a person: the partition map, marks,
every partition's inputs and outputs, the verification table, the files; one
self-contained page), and with --visualize partitions.svg (the partition
map; --visualize full draws every node instead, with Graphviz). All of them
are published together at the end: a failed or interrupted run leaves the
work dir as it was.

With --calib-file calib.h5 and --calib-images DIR or --calib-samples N, the
PyTorch model also runs once per calibration sample with marks on, and the
tensors entering every partition's start marks are written to calib.h5 in
mmdeploy's layout (calib_data/<save_file stem>, also reachable as
calib_data/partition<i>, and calib_data/end2end for the full model), for
int8 builds of the partitions; --verify then also checks each partition fed
with its calibration data against PyTorch.
"""
import argparse
import logging
import shlex
import sys
from pathlib import Path

from .. import exit_codes
from ..exit_codes import (EXIT_ENVIRONMENT, EXIT_INPUT, EXIT_INTERRUPTED, EXIT_MARKER,
                          EXIT_PARTITION, EXIT_USAGE, EXIT_VERIFY)

PROG = "torch2onnx"
LOG = logging.getLogger("mmdeploy_mark")


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog=PROG, description=__doc__, epilog=exit_codes.help_table(),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("deploy_cfg", help="deploy config, e.g. configs/mmdet/detection/"
                        "yolov3_partition_onnxruntime_static.py")
    parser.add_argument("model_cfg", help="model config: one whose model.type is a dotted "
                        "Python path (e.g. examples/yolov3/configs/yolov3_d53_tiny.py), or an "
                        "OpenMMLab config (registry names, default_scope; e.g. mmdet's "
                        "configs/yolo/yolov3_d53_8xb8-ms-608-273e_coco.py), built through its "
                        "codebase when that is installed")
    parser.add_argument("checkpoint", help="state_dict checkpoint (.pth; a file, or an "
                        "http(s) URL downloaded once into torch.hub's cache and checked "
                        "against the hash prefix its name carries), or 'none' for random "
                        "weights")
    parser.add_argument("img", help="image file used as the export input, or 'random'")
    parser.add_argument("--work-dir", default="work-dirs/torch2onnx",
                        help="output directory, created if missing (default: %(default)s)")
    parser.add_argument("--device", default="cpu", help="torch device (default: cpu)")
    parser.add_argument("--log-level", default="INFO",
                        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                        help="DEBUG adds tracebacks and the exporter's own output")
    cut = parser.add_mutually_exclusive_group()
    cut.add_argument("--partition", dest="partition", action="store_true", default=None,
                     help="require the partitions of the deploy config's partition_config "
                     "(an error if it has none); without this flag they are cut whenever "
                     "the config has a partition_config with apply_marks=True")
    cut.add_argument("--no-partition", dest="partition", action="store_false",
                     help="export and strip only; cut no partition")
    parser.add_argument("--verify", action="store_true",
                        help="run the full model and every partition in onnxruntime and "
                        "compare with PyTorch at every boundary (table of max abs errors; "
                        "fails when an error exceeds atol + rtol * max|PyTorch tensor|)")
    parser.add_argument("--visualize", nargs="?", const="map", default=None,
                        choices=["map", "full"],
                        help="write <work-dir>/partitions.svg: 'map' (the default) the "
                        "partition map (one block per partition, the tensors between "
                        "them with dtypes, shapes and marks; readable at any model size), "
                        "'full' every node with partitions coloured (needs Graphviz); "
                        "put it after the positional arguments, or write --visualize=map")
    parser.add_argument("--exporter", choices=["torchscript", "dynamo"], default=None,
                        help="torch's ONNX exporter: torchscript (torch.onnx.export("
                        "dynamo=False)) or dynamo (the torch.export-based one, torch >= 2.8); "
                        "default: this torch's default (recorded in summary.json)")
    parser.add_argument("--clean", action="store_true",
                        help="remove files of an earlier run in --work-dir that this run does "
                        "not rewrite (by default they are kept and reported)")
    parser.add_argument("--calib-file", default=None, metavar="PATH",
                        help="write calibration data for int8 backends to this HDF5 file "
                        "(needs h5py): every partition's inputs and the full model's, one "
                        "dataset per sample; inside --work-dir it is published with the other "
                        "outputs, elsewhere its directory must exist")
    samples = parser.add_mutually_exclusive_group()
    samples.add_argument("--calib-images", default=None, metavar="DIR",
                         help="calibration samples for --calib-file: every image in DIR, "
                         "preprocessed as the export input")
    samples.add_argument("--calib-samples", type=int, default=None, metavar="N",
                         help="calibration samples for --calib-file: N random inputs of the "
                         "export shape (seeded, so runs repeat)")
    parser.add_argument("--atol", type=float, default=1e-4, help="absolute tolerance of --verify")
    parser.add_argument("--rtol", type=float, default=1e-3, help="relative tolerance of --verify")
    return parser.parse_args(argv)


def _error(message: str, code: int) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return code


def _run(args, command: str) -> int:
    import mmdeploy_mark
    from mmdeploy_mark.calibration import CalibrationError, CalibrationInputError
    from mmdeploy_mark.checkpoints import CheckpointDownloadError, is_url
    from mmdeploy_mark.pipeline import (EnvironmentError_, UnreadableInputError,
                                        VerificationError, torch2onnx)

    for path in (args.deploy_cfg, args.model_cfg):
        if not Path(path).is_file():
            return _error(f"config '{path}' does not exist", EXIT_INPUT)
    checkpoint = None if args.checkpoint.lower() == "none" else args.checkpoint
    if checkpoint and not is_url(checkpoint) and not Path(checkpoint).is_file():
        return _error(f"checkpoint '{checkpoint}' does not exist (pass 'none' for random "
                      f"weights)", EXIT_INPUT)
    try:
        summary = torch2onnx(args.deploy_cfg, args.model_cfg, checkpoint, args.img,
                             args.work_dir, device=args.device, partition=args.partition,
                             verify_outputs=args.verify, visualize=args.visualize,
                             atol=args.atol, rtol=args.rtol, exporter=args.exporter,
                             clean=args.clean, command=command, calib_file=args.calib_file,
                             calib_images=args.calib_images, calib_samples=args.calib_samples)
    except VerificationError as e:
        return _error(str(e), EXIT_VERIFY)
    except CalibrationInputError as e:
        return _error(str(e), EXIT_INPUT)
    except CalibrationError as e:
        return _error(str(e), EXIT_PARTITION)
    except (FileNotFoundError, IsADirectoryError, UnreadableInputError) as e:
        return _error(str(e), EXIT_INPUT)
    except NotADirectoryError as e:
        return _error(str(e), EXIT_USAGE)
    except mmdeploy_mark.MarkerNotFoundError as e:
        return _error(str(e), EXIT_MARKER)
    except mmdeploy_mark.PartitionError as e:
        return _error(str(e), EXIT_PARTITION)
    except (EnvironmentError_, CheckpointDownloadError) as e:
        return _error(str(e), EXIT_ENVIRONMENT)
    except (ValueError, TypeError, SyntaxError, ImportError, KeyError) as e:
        LOG.debug("details", exc_info=True)
        return _error(str(e), EXIT_USAGE)
    work = Path(summary["work_dir"])
    LOG.info("full model:   %s", work / summary["full_model"]["file"])
    if summary["marked_model"]:
        LOG.info("marked model: %s", work / summary["marked_model"])
    for part in summary["partitions"]:
        LOG.info("partition:    %s  inputs %s  outputs %s", work / part["file"],
                 [i["name"] for i in part["inputs"]], [o["name"] for o in part["outputs"]])
    if "visualization" in summary:
        LOG.info("drawing:      %s", work / summary["visualization"])
    if "calibration" in summary:
        LOG.info("calibration:  %s  (%s)", summary["calibration"]["file"],
                 summary["calibration"]["source"])
    if "verification_table" in summary:
        print(summary["verification_table"])
    if "report" in summary:
        LOG.info("report:       %s", work / summary["report"])
    LOG.info("summary:      %s", work / "summary.json")
    return 0


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level, format=f"[{PROG}] %(message)s")
    command = shlex.join([PROG, *argv])
    try:
        return _run(args, command)
    except KeyboardInterrupt:
        return _error("interrupted; nothing was written to the work dir", EXIT_INTERRUPTED)
    except Exception as e:  # noqa: BLE001 - one line instead of a traceback
        LOG.debug("traceback", exc_info=True)
        return _error(f"unexpected {type(e).__name__}: {e} (rerun with --log-level DEBUG for "
                      f"the traceback, and report it)", EXIT_PARTITION)


if __name__ == "__main__":
    sys.exit(main())
