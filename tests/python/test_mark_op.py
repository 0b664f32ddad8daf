"""torch.ops.mmdeploy.mark: identity, autograd, trace/script, bad input."""
import pytest
import torch

import mmdeploy_mark  # noqa: F401 - loads the plugin
from mmdeploy_mark import mark_tensor


def mark(x, type="input", name="x", func="f", func_id=0, id=0):
    return torch.ops.mmdeploy.mark(x, func, func_id, type, name, id)


def mark_nodes(graph):
    return [n for n in graph.nodes() if n.kind() == "mmdeploy::mark"]


def test_returns_an_alias_of_its_input():
    x = torch.randn(2, 3)
    y = mark(x)
    assert y.data_ptr() == x.data_ptr()
    assert torch.equal(x, y)
    assert y is not x


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.int64, torch.bool])
def test_keeps_dtype_and_shape(dtype):
    x = torch.zeros(3, 1, 2, dtype=dtype)
    y = mark(x)
    assert y.dtype == dtype and y.shape == x.shape


def test_gradient_passes_straight_through():
    x = torch.randn(5, requires_grad=True)
    weights = torch.arange(5.0)
    (mark(x * 2) * weights).sum().backward()
    torch.testing.assert_close(x.grad, 2 * weights)


def test_in_place_change_is_seen_through_the_alias():
    base = torch.zeros(3)
    mark(base).add_(1)
    assert torch.equal(base, torch.ones(3))


def test_trace_keeps_the_mark_node():
    class M(torch.nn.Module):
        def forward(self, x):
            return mark(torch.relu(x), type="output", name="y") + 1

    traced = torch.jit.trace(M(), torch.randn(2, 2))
    nodes = mark_nodes(traced.graph)
    assert len(nodes) == 1
    assert [i.toIValue() for i in list(nodes[0].inputs())[1:]] == [
        "f", 0, "output", "y", 0, "{}"]
    x = torch.randn(2, 2)
    torch.testing.assert_close(traced(x), torch.relu(x) + 1)


def test_script_keeps_the_mark_node():
    @torch.jit.script
    def scripted(x: torch.Tensor) -> torch.Tensor:
        y = torch.ops.mmdeploy.mark(x, "g", 1, "input", "x", 0, "{}")
        return y * 3

    assert len(mark_nodes(scripted.graph)) == 1
    torch.testing.assert_close(scripted(torch.ones(2)), torch.full((2,), 3.0))


def test_traced_module_with_marks_saves_and_loads(tmp_path):
    traced = torch.jit.trace(lambda x: mark(x) * 2, torch.randn(3))
    traced.save(str(tmp_path / "m.pt"))
    loaded = torch.jit.load(str(tmp_path / "m.pt"))
    assert len(mark_nodes(loaded.graph)) == 1
    torch.testing.assert_close(loaded(torch.ones(3)), torch.full((3,), 2.0))


def test_rejects_an_unknown_type_naming_it():
    with pytest.raises(RuntimeError, match=r"type must be 'input' or 'output', got 'inptu'"):
        mark(torch.ones(1), type="inptu")


def test_rejects_an_empty_name():
    with pytest.raises(RuntimeError, match="name must be non-empty"):
        mark(torch.ones(1), name="")


def test_rejects_a_non_tensor():
    with pytest.raises(RuntimeError, match="Tensor"):
        torch.ops.mmdeploy.mark([1, 2], "f", 0, "input", "x", 0)


def test_mark_tensor_rejects_a_non_tensor_naming_it():
    with pytest.raises(TypeError, match=r"'boxes' of 'nms' must be a torch.Tensor, got list"):
        mark_tensor([1.0], "nms", "input", "boxes")
