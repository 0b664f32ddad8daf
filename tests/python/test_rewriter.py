"""FUNCTION_REWRITER and RewriterContext: patch, restore, contexts."""
import sys
import types

import pytest

from mmdeploy_mark import FUNCTION_REWRITER, RewriterContext, RewriterWarning


@pytest.fixture
def target_module(monkeypatch):
    """A throwaway module `rw_target` with a function, a class and a subclass."""
    module = types.ModuleType("rw_target")

    def scale(x):
        return x * 2

    class Base:
        def forward(self, x):
            return x + 1

        @staticmethod
        def helper(x):
            return x - 1

        @classmethod
        def make(cls):
            return cls.__name__

    class Child(Base):
        pass

    module.scale, module.Base, module.Child = scale, Base, Child
    monkeypatch.setitem(sys.modules, "rw_target", module)
    return module


def test_function_is_replaced_only_inside_the_context(target_module):
    @FUNCTION_REWRITER.register_rewriter("rw_target.scale")
    def scale(x):
        return FUNCTION_REWRITER.get_context().origin_func(x) + 100

    original = target_module.scale
    with RewriterContext(cfg={}):
        assert target_module.scale(1) == 102
    assert target_module.scale is original
    assert target_module.scale(1) == 2


def test_method_rewriter_gets_self_origin_and_cfg(target_module):
    cfg = {"partition_config": {"apply_marks": True}}

    @FUNCTION_REWRITER.register_rewriter("rw_target.Base.forward")
    def forward(self, x):
        ctx = FUNCTION_REWRITER.get_context()
        assert ctx.cfg is cfg and isinstance(self, target_module.Base)
        return ctx.origin_func(self, x) * 10

    with RewriterContext(cfg=cfg):
        assert target_module.Child().forward(1) == 20
    assert target_module.Child().forward(1) == 2


def test_old_style_rewriter_takes_ctx_first(target_module):
    @FUNCTION_REWRITER.register_rewriter("rw_target.Base.forward")
    def forward(ctx, self, x):
        return ctx.origin_func(self, x) + ctx.extra_value

    with RewriterContext(cfg={}, extra_value=5):
        assert target_module.Base().forward(1) == 7


def test_originals_come_back_when_an_exception_leaves_the_context(target_module):
    @FUNCTION_REWRITER.register_rewriter("rw_target.scale")
    def scale(x):
        raise KeyError("inside")

    original = target_module.scale
    with pytest.raises(KeyError):
        with RewriterContext(cfg={}):
            target_module.scale(1)
    assert target_module.scale is original


def test_nested_contexts_restore_in_order(target_module):
    @FUNCTION_REWRITER.register_rewriter("rw_target.scale")
    def scale(x):
        return FUNCTION_REWRITER.get_context().origin_func(x) + 1

    with RewriterContext(cfg={}):
        assert target_module.scale(1) == 3
        with RewriterContext(cfg={}):
            assert target_module.scale(1) == 4  # rewritten twice
        assert target_module.scale(1) == 3
    assert target_module.scale(1) == 2


def test_inherited_method_patched_on_a_subclass_is_removed_again(target_module):
    @FUNCTION_REWRITER.register_rewriter("rw_target.Child.forward")
    def forward(self, x):
        return -1

    with RewriterContext(cfg={}):
        assert target_module.Child().forward(1) == -1
        assert target_module.Base().forward(1) == 2
    assert "forward" not in target_module.Child.__dict__


def test_static_and_class_methods_keep_their_binding(target_module):
    @FUNCTION_REWRITER.register_rewriter("rw_target.Base.helper")
    def helper(x):
        return FUNCTION_REWRITER.get_context().origin_func(x) * 3

    @FUNCTION_REWRITER.register_rewriter("rw_target.Base.make")
    def make(cls):
        return "made " + FUNCTION_REWRITER.get_context().origin_func(cls)

    with RewriterContext(cfg={}):
        assert target_module.Base().helper(2) == 3
        assert target_module.Child.make() == "made Child"
    assert isinstance(target_module.Base.__dict__["helper"], staticmethod)
    assert isinstance(target_module.Base.__dict__["make"], classmethod)


def test_backend_specific_rewriter_wins_over_default(target_module):
    @FUNCTION_REWRITER.register_rewriter("rw_target.scale")
    def default(x):
        return "default"

    @FUNCTION_REWRITER.register_rewriter("rw_target.scale", backend="tensorrt")
    def tensorrt(x):
        return "tensorrt"

    with RewriterContext(cfg={}, backend="tensorrt"):
        assert target_module.scale(1) == "tensorrt"
    with RewriterContext(cfg={}, backend="onnxruntime"):
        assert target_module.scale(1) == "default"


def test_unresolvable_path_is_skipped_with_a_warning_naming_it(target_module):
    @FUNCTION_REWRITER.register_rewriter("not_installed_pkg.models.Head.forward")
    def forward(self, x):
        return x

    @FUNCTION_REWRITER.register_rewriter("rw_target.scale")
    def scale(x):
        return 0

    with pytest.warns(RewriterWarning, match="not_installed_pkg.models.Head.forward"):
        with RewriterContext(cfg={}):
            assert target_module.scale(1) == 0


def test_get_context_outside_a_rewriter_is_an_error():
    with pytest.raises(RuntimeError, match="outside a rewriter"):
        FUNCTION_REWRITER.get_context()
