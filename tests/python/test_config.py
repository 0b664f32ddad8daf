"""Deploy-config loading: mmdeploy-format files, _base_ inheritance, errors,
and the partition list resolved from partition_config."""
import copy
import os
import pickle
import textwrap
from pathlib import Path

import pytest

from mmdeploy_mark import partition_types
from mmdeploy_mark.config import (Config, cfg_apply_marks, get_backend,
                                  get_dynamic_axes, get_input_shape,
                                  get_onnx_config, get_partition_config,
                                  load_config, resolve_partition_cfg)

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / "configs"
DETECTION = CONFIGS / "mmdet" / "detection"

# Step 2 of the seed document, character for character.
SEED_CONFIG = """\
_base_ = ['./detection_onnxruntime_static.py']

onnx_config = dict(input_shape=[608, 608])
partition_config = dict(
    type='yolov3_partition', # the partition policy name
    apply_marks=True, # should always be set to True
    partition_cfg=[
        dict(
            save_file='yolov3.onnx', # filename to save the partitioned onnx model
            start=['detector_forward:input'], # [mark_name:input/output, ...]
            end=['yolo_head:input'],  # [mark_name:input/output, ...]
            output_names=[f'pred_maps.{i}' for i in range(3)]) # output names
    ])
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


# ----------------------------------------------------------------- bundled


def test_seed_config_is_verbatim():
    text = (DETECTION / "yolov3_partition_onnxruntime_static.py").read_text()
    assert text.strip() == SEED_CONFIG.strip()


def test_seed_config_loads_with_inherited_values():
    cfg = load_config(DETECTION / "yolov3_partition_onnxruntime_static.py")
    assert cfg.onnx_config.input_shape == [608, 608]
    assert get_input_shape(cfg) == [608, 608]
    assert cfg.onnx_config.opset_version == 11
    assert cfg.onnx_config.output_names == ["dets", "labels"]
    assert cfg.onnx_config.input_names == ["input"]
    assert cfg.onnx_config.save_file == "end2end.onnx"
    assert get_backend(cfg) == "onnxruntime"
    assert cfg.codebase_config.type == "mmdet"
    assert cfg_apply_marks(cfg) is True
    assert get_partition_config(cfg).type == "yolov3_partition"
    assert resolve_partition_cfg(cfg) == [
        dict(save_file="yolov3.onnx", start=["detector_forward:input"],
             end=["yolo_head:input"],
             output_names=["pred_maps.0", "pred_maps.1", "pred_maps.2"])
    ]
    assert cfg.filename == str(DETECTION /
                               "yolov3_partition_onnxruntime_static.py")


def test_dynamic_partition_config():
    cfg = load_config(DETECTION / "yolov3_partition_onnxruntime_dynamic.py")
    assert get_dynamic_axes(cfg)["input"] == {0: "batch", 2: "height",
                                              3: "width"}
    assert set(get_dynamic_axes(cfg)) == {"input", "dets", "labels"}
    (entry,) = resolve_partition_cfg(cfg)
    assert entry["output_names"] == [f"pred_maps.{i}" for i in range(3)]
    axes = entry["dynamic_axes"]
    assert set(axes) == {"input", "pred_maps.0", "pred_maps.1",
                         "pred_maps.2"}
    assert all(axes[f"pred_maps.{i}"][0] == "batch" for i in range(3))
    # Different levels have different spatial sizes, so different names.
    assert len({axes[f"pred_maps.{i}"][2] for i in range(3)}) == 3


def test_single_stage_config_uses_predefined_type():
    cfg = load_config(DETECTION /
                      "single_stage_partition_onnxruntime_static.py")
    assert "partition_cfg" not in cfg.partition_config
    (entry,) = resolve_partition_cfg(cfg)
    assert entry["save_file"] == "partition0.onnx"
    assert entry["start"] == ["detector_forward:input"]
    assert entry["end"] == ["multiclass_nms:input"]
    assert entry["output_names"] == ["boxes", "scores"]


@pytest.mark.parametrize("path", sorted(
    str(p.relative_to(REPO)) for p in [*CONFIGS.rglob("*.py"),
                                       *(REPO / "examples").glob("*/configs/*.py")]))
def test_every_bundled_config_loads(path):
    cfg = load_config(REPO / path)
    assert isinstance(cfg, Config)
    assert "_base_" not in cfg
    if "partition_config" in cfg:
        assert resolve_partition_cfg(cfg)
    if "onnx_config" in cfg:
        get_input_shape(cfg)
        get_dynamic_axes(cfg)


def test_predefined_types():
    assert partition_types.list_partition_types() == ["single_stage",
                                                      "two_stage"]
    two = partition_types.get_predefined_partition_cfg("two_stage")
    assert [p["save_file"] for p in two] == ["partition0.onnx",
                                             "partition1.onnx"]
    assert two[0]["start"] == "detector_forward:input"
    assert two[0]["end"] == ["extract_feat:output", "multiclass_nms[0]:input"]
    assert two[1]["start"] == "roi_extractor:output"
    assert two[1]["end"] == "bbox_head_forward:output"
    # Copies: changing one does not change the table.
    two[0]["end"].append("x:output")
    assert partition_types.get_predefined_partition_cfg(
        "two_stage")[0]["end"] == ["extract_feat:output",
                                   "multiclass_nms[0]:input"]
    with pytest.raises(ValueError, match="single_stage, two_stage"):
        partition_types.get_predefined_partition_cfg("three_stage")


def test_resolve_predefined_two_stage():
    cfg = Config(partition_config=dict(type="two_stage", apply_marks=True))
    parts = resolve_partition_cfg(cfg)
    assert parts[0]["end"] == ["extract_feat:output",
                               "multiclass_nms[0]:input"]
    assert parts[1]["start"] == ["roi_extractor:output"]
    assert parts[1]["dynamic_axes"]["bbox_feats"] == {0: "batch"}


# ------------------------------------------------------------ inheritance


def test_list_of_bases_merges_in_order_then_own_values(tmp_path):
    write(tmp_path / "a.py", """
        x = dict(p=1, q=dict(r=1, s=1))
        only_a = 'a'
    """)
    write(tmp_path / "b.py", """
        x = dict(q=dict(s=2, t=2))
        only_b = [1, 2]
    """)
    cfg_file = write(tmp_path / "c.py", """
        _base_ = ['./a.py', 'b.py']
        x = dict(p=3)
    """)
    cfg = load_config(cfg_file)
    assert cfg.to_dict() == dict(x=dict(p=3, q=dict(r=1, s=2, t=2)),
                                 only_a="a", only_b=[1, 2])


def test_string_base_and_relative_paths(tmp_path):
    write(tmp_path / "_base_" / "root.py", "a = dict(v=1)\n")
    write(tmp_path / "_base_" / "mid.py", "_base_ = './root.py'\nb = 2\n")
    cfg_file = write(tmp_path / "sub" / "leaf.py", """
        _base_ = '../_base_/mid.py'
        a = dict(w=2)
    """)
    cfg = load_config(cfg_file)
    assert cfg.to_dict() == dict(a=dict(v=1, w=2), b=2)


def test_delete_replaces_instead_of_merging(tmp_path):
    write(tmp_path / "base.py", """
        model = dict(head=dict(a=1, b=2), keep=True)
    """)
    cfg_file = write(tmp_path / "child.py", """
        _base_ = './base.py'
        model = dict(head=dict(_delete_=True, c=3))
    """)
    cfg = load_config(cfg_file)
    assert cfg.to_dict() == dict(model=dict(head=dict(c=3), keep=True))


def test_delete_flag_is_removed_without_a_base_value(tmp_path):
    cfg = load_config(write(tmp_path / "c.py",
                            "a = dict(_delete_=True, b=dict(_delete_=True))\n"))
    assert cfg.to_dict() == dict(a=dict(b=dict()))


def test_non_dict_value_replaces_inherited_dict(tmp_path):
    write(tmp_path / "base.py", "onnx_config = dict(dynamic_axes=dict(a=1))\n")
    cfg = load_config(write(tmp_path / "c.py", """
        _base_ = './base.py'
        onnx_config = dict(dynamic_axes=None)
    """))
    assert cfg.onnx_config.dynamic_axes is None


def test_dict_over_non_dict_names_key_path(tmp_path):
    write(tmp_path / "base.py", "onnx_config = dict(input_shape=[1, 2])\n")
    child = write(tmp_path / "c.py", """
        _base_ = './base.py'
        onnx_config = dict(input_shape=dict(w=1))
    """)
    with pytest.raises(TypeError) as info:
        load_config(child)
    assert "onnx_config.input_shape" in str(info.value)
    assert str(child) in str(info.value)
    assert "_delete_" in str(info.value)


def test_diamond_inheritance_is_not_a_cycle(tmp_path):
    write(tmp_path / "root.py", "r = 1\n")
    write(tmp_path / "l.py", "_base_ = './root.py'\nl = 1\n")
    write(tmp_path / "m.py", "_base_ = './root.py'\nm = 1\n")
    cfg = load_config(write(tmp_path / "c.py", "_base_ = ['l.py', 'm.py']\n"))
    assert cfg.to_dict() == dict(r=1, l=1, m=1)


def test_comprehensions_and_non_config_names(tmp_path):
    cfg = load_config(write(tmp_path / "c.py", """
        import os
        from math import floor
        _private = 3
        def helper():
            return 1
        class Thing:
            pass
        names = [f'pred_maps.{i}' for i in range(3)]
        here = os.path.basename(__file__)
    """))
    assert cfg.to_dict() == dict(names=["pred_maps.0", "pred_maps.1",
                                        "pred_maps.2"], here="c.py")


def test_json_config(tmp_path):
    write(tmp_path / "base.py", "a = dict(b=1)\n")
    cfg = load_config(write(tmp_path / "c.json",
                            '{"_base_": "base.py", "a": {"c": 2}}'))
    assert cfg.to_dict() == dict(a=dict(b=1, c=2))


# ------------------------------------------------------------------ errors


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.py"):
        load_config(tmp_path / "nope.py")


def test_missing_base_names_referencing_config(tmp_path):
    child = write(tmp_path / "child.py", "_base_ = ['./missing_base.py']\n")
    with pytest.raises(FileNotFoundError) as info:
        load_config(child)
    message = str(info.value)
    assert "missing_base.py" in message
    assert str(child) in message
    assert info.value.filename == str(tmp_path / "missing_base.py")


def test_cycle_lists_chain(tmp_path):
    write(tmp_path / "a.py", "_base_ = './b.py'\n")
    write(tmp_path / "b.py", "_base_ = './c.py'\n")
    write(tmp_path / "c.py", "_base_ = './a.py'\n")
    with pytest.raises(ValueError, match="cycle") as info:
        load_config(tmp_path / "a.py")
    message = str(info.value)
    a, b, c = (str(tmp_path / n) for n in ("a.py", "b.py", "c.py"))
    assert f"{a} -> {b} -> {c} -> {a}" in message


def test_self_reference_is_a_cycle(tmp_path):
    me = write(tmp_path / "me.py", "_base_ = 'me.py'\n")
    with pytest.raises(ValueError, match="cycle"):
        load_config(me)


def test_syntax_error_names_file_and_line(tmp_path):
    bad = write(tmp_path / "bad.py", """
        a = 1
        onnx_config = dict(input_shape=[608, 608)
    """)
    with pytest.raises(SyntaxError) as info:
        load_config(bad)
    assert str(bad) in str(info.value)
    assert "line 3" in str(info.value)
    assert info.value.filename == str(bad)
    assert info.value.lineno == 3


def test_syntax_error_in_base_names_base_file(tmp_path):
    base = write(tmp_path / "base.py", "x = (\n")
    child = write(tmp_path / "child.py", "_base_ = './base.py'\n")
    with pytest.raises(SyntaxError, match=str(base)):
        load_config(child)


def test_runtime_error_names_file_and_line(tmp_path):
    bad = write(tmp_path / "bad.py", "a = 1\nb = undefined_name\n")
    with pytest.raises(ValueError, match=r"bad\.py, line 2: NameError"):
        load_config(bad)


def test_bad_base_type(tmp_path):
    with pytest.raises(TypeError, match="_base_"):
        load_config(write(tmp_path / "c.py", "_base_ = 3\n"))


# ------------------------------------------------------------- Config type


def test_config_attribute_access_and_conversion():
    cfg = Config(dict(a=dict(b=[dict(c=1)]), d=2))
    assert cfg.a.b[0].c == 1
    assert isinstance(cfg.a, Config) and isinstance(cfg.a.b[0], Config)
    cfg.e = dict(f=3)
    assert cfg.e.f == 3 and isinstance(cfg.e, Config)
    cfg["g"] = {"h": 4}
    assert cfg.g.h == 4
    with pytest.raises(AttributeError, match="missing"):
        cfg.missing
    assert getattr(cfg, "missing", None) is None
    assert type(cfg.to_dict()["a"]) is dict
    assert Config.fromfile is not None
    assert load_config(dict(x=1)).x == 1


def test_config_copies_and_pickles():
    cfg = Config(dict(a=dict(b=[1, 2])), filename="/x.py")
    clone = copy.deepcopy(cfg)
    clone.a.b.append(3)
    assert cfg.a.b == [1, 2]
    assert clone.filename == "/x.py"
    restored = pickle.loads(pickle.dumps(cfg))
    assert restored == cfg and restored.filename == "/x.py"
    assert isinstance(restored.a, Config)


def test_fromfile_alias():
    cfg = Config.fromfile(os.fspath(DETECTION /
                                    "detection_onnxruntime_static.py"))
    assert get_onnx_config(cfg).opset_version == 11


# ---------------------------------------------------------------- helpers


def test_helpers_without_optional_sections():
    cfg = Config(onnx_config=dict(opset_version=11))
    assert get_partition_config(cfg) is None
    assert cfg_apply_marks(cfg) is False
    assert get_backend(cfg) == "default"
    assert get_input_shape(cfg) is None
    assert get_dynamic_axes(cfg) is None
    with pytest.raises(ValueError, match="onnx_config"):
        get_onnx_config(Config())


def test_apply_marks_false_by_default():
    assert cfg_apply_marks(Config(partition_config=dict(type="x"))) is False


def test_dynamic_axes_list_form():
    cfg = Config(onnx_config=dict(input_names=["input"],
                                  output_names=["dets", "labels"],
                                  dynamic_axes=[[0, 2, 3], [0, 1]]))
    axes = get_dynamic_axes(cfg)
    assert axes == dict(input=[0, 2, 3], dets=[0, 1])


def test_bad_input_shape():
    cfg = Config(onnx_config=dict(input_shape=[608]))
    with pytest.raises(ValueError, match="onnx_config.input_shape"):
        get_input_shape(cfg)


# ---------------------------------------------------- resolve_partition_cfg


def _partition_file(tmp_path: Path, partition_cfg: str) -> Path:
    return write(tmp_path / "deploy.py",
                 "partition_config = dict(type='custom', apply_marks=True, "
                 f"partition_cfg={partition_cfg})\n")


def test_resolve_without_partition_config(tmp_path):
    path = write(tmp_path / "deploy.py", "onnx_config = dict()\n")
    with pytest.raises(ValueError, match="no partition_config") as info:
        resolve_partition_cfg(path)
    assert str(path) in str(info.value)
    assert "partition_config = dict(" in str(info.value)


def test_resolve_unknown_type_lists_known(tmp_path):
    path = write(tmp_path / "deploy.py",
                 "partition_config = dict(type='three_stage')\n")
    with pytest.raises(ValueError) as info:
        resolve_partition_cfg(path)
    message = str(info.value)
    assert "'three_stage'" in message
    assert "single_stage, two_stage" in message
    assert str(path) in message


def test_resolve_normalises_markers_to_lists(tmp_path):
    path = _partition_file(
        tmp_path, "[dict(save_file='p.onnx', start='a:input', "
        "end='b[1]:output')]")
    (entry,) = resolve_partition_cfg(path)
    assert entry == dict(save_file="p.onnx", start=["a:input"],
                         end=["b[1]:output"])


@pytest.mark.parametrize("entry, key_path, error", [
    ("dict(save_file='p.onnx', end=['b:input'])",
     "partition_config.partition_cfg[0]", ValueError),
    ("dict(save_file='p.onnx', start=[''], end=['b:input'])",
     "partition_config.partition_cfg[0].start[0]", ValueError),
    ("dict(save_file='p.onnx', start=['a:input'], end=3)",
     "partition_config.partition_cfg[0].end", TypeError),
    ("dict(save_file='p.onnx', start=['a:in'], end=['b:input'])",
     "partition_config.partition_cfg[0].start[0]", ValueError),
    ("dict(save_file='p.txt', start=['a:input'], end=['b:input'])",
     "partition_config.partition_cfg[0].save_file", ValueError),
    ("dict(save_file='/abs/p.onnx', start=['a:input'], end=['b:input'])",
     "partition_config.partition_cfg[0].save_file", ValueError),
    ("dict(save_file='p.onnx', start=['a:input'], end=['b:input'], "
     "output_names='x')",
     "partition_config.partition_cfg[0].output_names", TypeError),
    ("dict(save_file='p.onnx', start=['a:input'], end=['b:input'], "
     "dynamic_axes=[1])",
     "partition_config.partition_cfg[0].dynamic_axes", TypeError),
    ("dict(save_file='p.onnx', start=['a:input'], end=['b:input'], "
     "dynamic_axes=dict(x=dict(a='b')))",
     "partition_config.partition_cfg[0].dynamic_axes['x']", TypeError),
    ("'p.onnx'", "partition_config.partition_cfg[0]", TypeError),
    ("dict(save_file='p.onnx', start=['a:input'], end=['b:input'], "
     "ouput_names=['x'])", "partition_config.partition_cfg[0]", ValueError),
])
def test_resolve_errors_name_key_path(tmp_path, entry, key_path, error):
    path = _partition_file(tmp_path, f"[{entry}]")
    with pytest.raises(error) as info:
        resolve_partition_cfg(path)
    assert f"{key_path}: " in str(info.value)
    assert str(path) in str(info.value)


def test_resolve_errors_on_second_entry(tmp_path):
    path = _partition_file(
        tmp_path, "[dict(save_file='p.onnx', start='a:input', end='b:input'),"
        " dict(save_file='q.onnx', start='a:input')]")
    with pytest.raises(ValueError, match=r"partition_cfg\[1\]: missing key 'end'"):
        resolve_partition_cfg(path)


def test_resolve_empty_and_duplicate(tmp_path):
    with pytest.raises(ValueError, match="empty"):
        resolve_partition_cfg(_partition_file(tmp_path, "[]"))
    dup = _partition_file(
        tmp_path, "[dict(save_file='p.onnx', start='a:input', end='b:input'),"
        " dict(save_file='p.onnx', start='b:input', end='c:input')]")
    with pytest.raises(ValueError, match=r"partition_cfg\[1\].save_file"):
        resolve_partition_cfg(dup)


def test_resolve_rejects_unknown_entry_keys():
    # A typo is an error, as in mmdeploy-partition --config and the API.
    cfg = Config(partition_config=dict(partition_cfg=[
        dict(save_file="p.onnx", start="a:input", end="b:input",
             ouput_names=["x"])
    ]))
    with pytest.raises(ValueError, match=r"partition_cfg\[0\]: unknown key "
                       r"'ouput_names'; allowed keys: save_file, start, end"):
        resolve_partition_cfg(cfg)


def test_resolve_accepts_an_empty_marker_list_as_the_graphs_own_boundary():
    # As everywhere the spec is read: start=[] starts at the model's inputs.
    cfg = Config(partition_config=dict(partition_cfg=[
        dict(save_file="p.onnx", start=[], end="b:input")]))
    (entry,) = resolve_partition_cfg(cfg)
    assert entry == dict(save_file="p.onnx", start=[], end=["b:input"])


def test_resolve_returns_copies():
    cfg = load_config(DETECTION / "yolov3_partition_onnxruntime_static.py")
    entries = resolve_partition_cfg(cfg)
    entries[0]["output_names"].append("x")
    assert len(cfg.partition_config.partition_cfg[0].output_names) == 3
