"""Cut one partition out of a marked ONNX model (like mmdeploy's tools/extract.py).

Example:

  .venv/bin/python tools/extract.py end2end.marked.onnx yolov3.onnx \\
      --start detector_forward:input --end yolo_head:input

A marker is "func:type" or "func[func_id]:type" (type is input or output);
--start and --end take comma-separated markers. Without --start/--end, or
with a marker the model lacks, the markers the model has are listed.

Exit codes: 0 success (or markers listed on request); 1 the partition
could not be cut; 2 bad arguments (e.g. a marker the model lacks);
3 the input model is missing or not an ONNX model.
"""
import argparse
import logging
import sys
from pathlib import Path

EXIT_PARTITION, EXIT_USAGE, EXIT_INPUT = 1, 2, 3


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="extract.py", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("input_model", help="marked ONNX model (e.g. end2end.marked.onnx)")
    parser.add_argument("output_model", nargs="?",
                        help="where to write the partition (omit to only list markers)")
    parser.add_argument("--start", help="start markers, comma-separated, e.g. "
                        "detector_forward:input")
    parser.add_argument("--end", help="end markers, comma-separated, e.g. yolo_head:input")
    parser.add_argument("--output-names", help="rename the outputs in order, comma-separated")
    parser.add_argument("--log-level", default="INFO",
                        choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    return parser.parse_args(argv)


def _markers_table(marks) -> str:
    by_marker = {}
    for m in marks:
        by_marker.setdefault(m.marker, []).append(m.name)
    return "\n".join(f"  {marker:<32} {', '.join(names)}" for marker, names in by_marker.items())


def main(argv=None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level, format="[extract] %(message)s")
    log = logging.getLogger("extract")
    import mmdeploy_mark

    if not Path(args.input_model).is_file():
        print(f"extract.py: error: model '{args.input_model}' does not exist", file=sys.stderr)
        return EXIT_INPUT
    try:
        marks = mmdeploy_mark.list_marks(args.input_model)
    except mmdeploy_mark.MalformedModelError as e:
        print(f"extract.py: error: {e}", file=sys.stderr)
        return EXIT_INPUT
    if not args.start or not args.end or not args.output_model:
        print(f"markers in {args.input_model} (marker, tensor names):")
        print(_markers_table(marks) or "  (none: was the model exported with marks applied?)")
        print("pass output_model, --start and --end to cut a partition")
        return 0
    start = [s.strip() for s in args.start.split(",") if s.strip()]
    end = [s.strip() for s in args.end.split(",") if s.strip()]
    output_names = ([s.strip() for s in args.output_names.split(",")]
                    if args.output_names else None)
    try:
        model = mmdeploy_mark.extract_partition(
            args.input_model, start, end, save_file=args.output_model,
            output_names=output_names)
    except mmdeploy_mark.MarkerNotFoundError as e:
        print(f"extract.py: error: {e}", file=sys.stderr)
        print(f"markers in {args.input_model}:\n{_markers_table(marks)}", file=sys.stderr)
        return EXIT_USAGE
    except mmdeploy_mark.PartitionError as e:
        print(f"extract.py: error: {e}", file=sys.stderr)
        return EXIT_PARTITION
    log.info("wrote %s: inputs %s, outputs %s, %d nodes", args.output_model,
             [i.name for i in model.graph.input], [o.name for o in model.graph.output],
             len(model.graph.node))
    return 0


if __name__ == "__main__":
    sys.exit(main())
