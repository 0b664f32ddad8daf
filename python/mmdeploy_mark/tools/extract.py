"""Cut one partition out of a marked ONNX model (mmdeploy's tools/extract.py),
or list the markers it has.

Example:

  python tools/extract.py end2end.marked.onnx yolov3.onnx \\
      --start detector_forward:input --end yolo_head:input

A marker is "func:type" or "func[func_id]:type" (type is input or output);
--start and --end take comma-separated markers and go together. With only
the model, the markers it has are listed. The model must be the marked one
torch2onnx writes (<stem>.marked.onnx); the deployable model has no marks.
--visualize map.svg also draws the partition map of the cut: the partition,
what it leaves out, and the tensors between them with dtypes and shapes.
"""
import argparse
import logging
import sys
from pathlib import Path

from .. import exit_codes
from ..exit_codes import (EXIT_INPUT, EXIT_INTERRUPTED, EXIT_MARKER, EXIT_PARTITION, EXIT_USAGE,
                          EXIT_WRITE)

PROG = "extract"
MARKED_SUFFIX = ".marked.onnx"


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog=PROG, description=__doc__, epilog=exit_codes.help_table(),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("input_model", help="marked ONNX model (e.g. end2end.marked.onnx)")
    parser.add_argument("output_model", nargs="?",
                        help="where to write the partition (omit to only list markers)")
    parser.add_argument("--start", help="start markers, comma-separated, e.g. "
                        "detector_forward:input")
    parser.add_argument("--end", help="end markers, comma-separated, e.g. yolo_head:input")
    parser.add_argument("--output-names", help="rename the outputs in order, comma-separated")
    parser.add_argument("--visualize", metavar="FILE",
                        help="also write the partition map of the cut to FILE (SVG)")
    parser.add_argument("--log-level", default="INFO",
                        choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    return parser.parse_args(argv)


def _markers_table(marks) -> str:
    by_marker = {}
    for m in marks:
        by_marker.setdefault(m.marker, []).append(m.name)
    return "\n".join(f"  {marker:<32} {', '.join(names)}" for marker, names in by_marker.items())


def _split(text):
    return [s.strip() for s in text.split(",") if s.strip()]


def _error(message: str, code: int) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return code


def _no_marks_message(model: str) -> str:
    """Points from a deployable model to the marked one beside it."""
    path = Path(model)
    marked = path.with_name(path.stem + MARKED_SUFFIX)
    if not path.name.endswith(MARKED_SUFFIX) and marked.is_file():
        return (f"'{model}' has no Mark nodes: it is the deployable model, whose marks "
                f"were stripped; cut the marked model beside it instead: {marked}")
    return (f"'{model}' has no Mark nodes; cut the marked model torch2onnx writes "
            f"(<save_file stem>{MARKED_SUFFIX}), exported with marks applied")


def _run(args) -> int:
    import mmdeploy_mark

    log = logging.getLogger("mmdeploy_mark")
    wants_cut = args.output_model or args.start or args.end
    if wants_cut and not (args.output_model and args.start and args.end):
        missing = [name for name, value in (("output_model", args.output_model),
                                            ("--start", args.start), ("--end", args.end))
                   if not value]
        return _error(f"cutting a partition needs output_model, --start and --end; missing: "
                      f"{', '.join(missing)} (give only the model to list its markers)",
                      EXIT_USAGE)
    if args.visualize and not wants_cut:
        return _error("--visualize draws a cut: give output_model, --start and --end too",
                      EXIT_USAGE)
    if not Path(args.input_model).is_file():
        return _error(f"model '{args.input_model}' does not exist", EXIT_INPUT)
    try:
        marks = mmdeploy_mark.list_marks(args.input_model)
    except mmdeploy_mark.MalformedModelError as e:
        return _error(str(e), EXIT_INPUT)
    if not marks:
        return _error(_no_marks_message(args.input_model), EXIT_MARKER)
    if not wants_cut:
        print(f"markers in {args.input_model} (marker, tensor names):")
        print(_markers_table(marks))
        print("pass output_model, --start and --end to cut a partition")
        return 0
    output_names = _split(args.output_names) if args.output_names else None
    try:
        model = mmdeploy_mark.extract_partition(
            args.input_model, _split(args.start), _split(args.end),
            save_file=args.output_model, output_names=output_names)
    except mmdeploy_mark.MarkerNotFoundError as e:
        print(f"markers in {args.input_model}:\n{_markers_table(marks)}", file=sys.stderr)
        return _error(str(e), EXIT_MARKER)
    except mmdeploy_mark.PartitionError as e:
        return _error(str(e), EXIT_PARTITION)
    except (ValueError, TypeError) as e:
        return _error(str(e), EXIT_USAGE)
    log.info("wrote %s: inputs %s, outputs %s, %d nodes", args.output_model,
             [i.name for i in model.graph.input], [o.name for o in model.graph.output],
             len(model.graph.node))
    if args.visualize:
        return _write_map(args.input_model, args.output_model, args.visualize, log)
    return 0


def _write_map(marked: str, partition: str, svg: str, log) -> int:
    from ..map_svg import write_svg
    from ..partition import PartitionError
    from ..partition_map import load_map

    try:
        # Never over the model it maps, nor the partition just written.
        write_svg(load_map(marked, [partition]), svg, inputs=[marked, partition])
    except (OSError, PartitionError) as e:
        return _error(f"cannot write the map to '{svg}': {getattr(e, 'strerror', None) or e} "
                      f"(the partition {partition} was written)", EXIT_WRITE)
    log.info("wrote %s: the partition map", svg)
    return 0


def main(argv=None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level, format=f"[{PROG}] %(message)s")
    try:
        return _run(args)
    except KeyboardInterrupt:
        return _error("interrupted; nothing was written", EXIT_INTERRUPTED)


if __name__ == "__main__":
    sys.exit(main())
