"""The @mark decorator: names, func_id counting, pass-through of non-tensors."""
import pytest
import torch

from mmdeploy_mark import RewriterContext, mark, marker, reset_mark_function_count


def recorded_marks(fn, *args):
    """(func, func_id, type, name, id) of every mark made while running fn."""
    graph = torch.jit.trace(lambda *a: fn(*a), args, check_trace=False).graph
    return [tuple(i.toIValue() for i in list(n.inputs())[1:6])
            for n in graph.nodes() if n.kind() == "mmdeploy::mark"]


def test_names_nested_lists_tuples_and_dicts():
    @mark("head", inputs=["feats", "extra"], outputs=["out"])
    def head(feats, extra):
        return feats["a"] + extra[0] + extra[1][0]

    x, y = torch.randn(2), torch.randn(2)
    marks = recorded_marks(lambda a, b: head({"a": a}, [b, (a * 2,)]), x, y)
    assert marks == [
        ("head", 0, "input", "feats.a", 0),
        ("head", 0, "input", "extra.0", 1),
        ("head", 0, "input", "extra.1.0", 2),
        ("head", 0, "output", "out", 0),
    ]


def test_a_single_output_name_names_the_whole_return_value():
    @mark("yolo_head", inputs=["pred_maps"])
    def head(pred_maps):
        return pred_maps

    maps = [torch.randn(1), torch.randn(1), torch.randn(1)]
    marks = recorded_marks(lambda *m: head(list(m)), *maps)
    assert [m[2:4] for m in marks] == [
        ("input", "pred_maps.0"), ("input", "pred_maps.1"), ("input", "pred_maps.2"),
        ("output", "yolo_head.0"), ("output", "yolo_head.1"), ("output", "yolo_head.2")]


def test_output_names_name_the_elements_of_a_returned_tuple():
    @mark("detector_forward", inputs=["input"], outputs=["dets", "labels", "masks"])
    def forward(img):
        return img * 2, img.argmax(-1)

    marks = recorded_marks(forward, torch.randn(2, 3))
    assert [m[3] for m in marks if m[2] == "output"] == ["dets", "labels"]


def test_input_names_come_from_the_signature_when_omitted():
    @mark("f")
    def f(boxes, count, scores):
        return boxes + scores

    marks = recorded_marks(lambda b, s: f(b, 3, s), torch.randn(2), torch.randn(2))
    assert [m[3] for m in marks if m[2] == "input"] == ["boxes", "scores"]
    assert [m[4] for m in marks if m[2] == "input"] == [0, 1]


def test_func_name_defaults_to_the_function_name():
    @mark(inputs=["x"])
    def my_block(x):
        return x

    assert recorded_marks(my_block, torch.randn(1))[0][0] == "my_block"


def test_non_tensors_pass_through_untouched():
    seen = {}

    @mark("f", inputs=["a", "b", "c"])
    def f(a, b, c):
        seen.update(a=a, b=b, c=c)
        return a

    meta = {"scale": 2.0}
    f(None, meta, "text")
    assert seen["a"] is None and seen["b"] is meta and seen["c"] == "text"


def test_a_tensor_met_twice_is_marked_once():
    @mark("f", inputs=["pair"])
    def f(pair):
        return pair[0]

    x = torch.randn(2)
    marks = recorded_marks(lambda t: f([t, t]), x)
    assert [m[3] for m in marks if m[2] == "input"] == ["pair.0"]


def test_func_id_counts_calls_per_function_name():
    @mark("block", inputs=["x"])
    def block(x):
        return x + 1

    @mark("other", inputs=["x"])
    def other(x):
        return x

    marks = recorded_marks(lambda x: other(block(block(x))), torch.randn(1))
    assert [(m[0], m[1]) for m in marks if m[2] == "input"] == [
        ("block", 0), ("block", 1), ("other", 0)]


@pytest.fixture
def eager_func_ids(monkeypatch):
    """Calls fn eagerly and returns the func_id of each input mark it made."""
    def run(fn, *args):
        ids = []
        original = marker.mark_tensor

        def recording(x, func, type, name, func_id=0, id=0, attrs="{}"):
            if type == "input":
                ids.append(func_id)
            return original(x, func, type, name, func_id, id, attrs)

        monkeypatch.setattr(marker, "mark_tensor", recording)
        try:
            fn(*args)
        finally:
            monkeypatch.setattr(marker, "mark_tensor", original)
        return ids
    return run


@mark("block", inputs=["x"])
def block(x):
    return x


def test_func_ids_restart_whenever_a_rewriter_context_opens(eager_func_ids):
    assert eager_func_ids(block, torch.ones(1)) == [0]  # outside any context
    for _ in range(2):
        with RewriterContext(cfg={}):
            assert eager_func_ids(block, torch.ones(1)) == [0]
    assert eager_func_ids(block, torch.ones(1)) == [1]
    reset_mark_function_count()
    assert eager_func_ids(block, torch.ones(1)) == [0]


def test_nested_context_counts_do_not_disturb_the_outer_ones(eager_func_ids):
    with RewriterContext(cfg={}):
        assert eager_func_ids(block, torch.ones(1)) == [0]
        with RewriterContext(cfg={}):
            assert eager_func_ids(block, torch.ones(1)) == [0]
        assert eager_func_ids(block, torch.ones(1)) == [1]


def test_every_trace_numbers_calls_from_zero():
    with RewriterContext(cfg={}):
        block(torch.ones(1))
        block(torch.ones(1))
        # torch.jit.trace's own check traces twice: both must agree.
        traced = torch.jit.trace(lambda x: block(block(x)), torch.ones(1))
    ids = [n.inputsAt(2).toIValue() for n in traced.graph.nodes() if n.kind() == "mmdeploy::mark"]
    assert ids == [0, 0, 1, 1]


def test_more_tensors_than_names_is_an_error_naming_the_function():
    @mark("f", inputs=["a"])
    def f(a, b):
        return a

    with pytest.raises(ValueError, match=r"mark\('f'\): more input values hold tensors"):
        f(torch.ones(1), torch.ones(1))


@pytest.mark.parametrize("kwargs, error, pattern", [
    (dict(func_name=""), ValueError, "func_name must be a non-empty str"),
    (dict(inputs=["x", ""]), ValueError, "every name in inputs"),
    (dict(name="clash"), ValueError, "clashes with a Mark attribute"),
    (dict(level={"a": 1}), TypeError, "extra attribute 'level'"),
    (dict(mixed=[1, "a"]), TypeError, "extra attribute 'mixed'"),
])
def test_bad_decorator_arguments_name_the_problem(kwargs, error, pattern):
    with pytest.raises(error, match=pattern):
        mark(**kwargs)
