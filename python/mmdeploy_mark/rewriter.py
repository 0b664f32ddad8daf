"""Function rewriting: replace functions and methods only while exporting.

Rewriters are registered by dotted path and applied by a RewriterContext:

    @FUNCTION_REWRITER.register_rewriter('pkg.module.Class.method')
    def class__method(self, x):
        ctx = FUNCTION_REWRITER.get_context()
        return ctx.origin_func(self, x) + 1

    with RewriterContext(cfg=deploy_cfg, backend='onnxruntime'):
        torch.onnx.export(model, ...)

Rewriters in the older style take the call context as first parameter,
named ``ctx``: ``def class__method(ctx, self, x): return ctx.origin_func(self, x)``.
"""
from __future__ import annotations

import contextvars
import importlib
import inspect
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

from .scope import _ACTIVE_CONTEXTS, _ACTIVE_CALLS, MarkCounter, current_context

DEFAULT_BACKEND = "default"

class RewriterWarning(UserWarning):
    """A registered rewriter could not be applied."""


@dataclass
class RewriteCall:
    """What a running rewriter sees: the function it replaces and the config.

    Extra keyword arguments given to RewriterContext are attributes too.
    """
    origin_func: Callable
    cfg: Any
    backend: str
    func_name: str
    extra: Dict[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        extra = self.__dict__.get("extra", {})
        if name in extra:
            return extra[name]
        raise AttributeError(
            f"rewriter context of '{self.func_name}' has no attribute "
            f"'{name}'")


@dataclass(frozen=True)
class _Registration:
    func_name: str
    backend: str
    rewriter: Callable
    takes_ctx: bool


def _takes_ctx(func: Callable) -> bool:
    params = list(inspect.signature(func).parameters)
    return bool(params) and params[0] == "ctx"


class FunctionRewriter:
    """Registry of rewriters, keyed by dotted path and backend."""

    def __init__(self) -> None:
        self._registrations: Dict[Tuple[str, str], _Registration] = {}

    def register_rewriter(self, func_name: str, backend: str = DEFAULT_BACKEND,
                          **kwargs: Any) -> Callable[[Callable], Callable]:
        """Registers the decorated function as the rewriter of ``func_name``.

        Args:
            func_name: dotted path of the function or method to replace, e.g.
                ``'mmdet.models.detectors.base.BaseDetector.forward'``.
            backend: the backend the rewriter applies to; ``'default'``
                applies to every backend without a rewriter of its own.
            kwargs: accepted for compatibility (e.g. ``ir=``), ignored.

        Returns:
            A decorator that registers its function and returns it unchanged.
        """
        if not isinstance(func_name, str) or not func_name:
            raise ValueError(
                f"register_rewriter: func_name must be a dotted path such as "
                f"'pkg.module.Class.method', got {func_name!r}")

        def decorator(rewriter: Callable) -> Callable:
            self._registrations[(func_name, backend)] = _Registration(
                func_name, backend, rewriter, _takes_ctx(rewriter))
            return rewriter

        return decorator

    def remove_rewriter(self, func_name: str,
                        backend: str = DEFAULT_BACKEND) -> None:
        """Unregisters a rewriter; unknown names are ignored."""
        self._registrations.pop((func_name, backend), None)

    def registrations_for(self, backend: str) -> List[_Registration]:
        """The rewriters that apply to ``backend``, in registration order."""
        chosen: Dict[str, _Registration] = {}
        for (name, reg_backend), reg in self._registrations.items():
            if reg_backend == backend:
                chosen[name] = reg
            elif reg_backend == DEFAULT_BACKEND:
                chosen.setdefault(name, reg)
        return list(chosen.values())

    @staticmethod
    def get_context(key: Optional[str] = None) -> RewriteCall:
        """Returns the context of the rewriter that is running now.

        Raises:
            RuntimeError: no rewriter is running (called outside one).
        """
        calls = _ACTIVE_CALLS.get()
        for call in reversed(calls):
            if key is None or call.func_name == key:
                return call
        raise RuntimeError(
            "FUNCTION_REWRITER.get_context() was called outside a rewriter; "
            "call it inside a function registered with register_rewriter "
            "while a RewriterContext is open")


FUNCTION_REWRITER = FunctionRewriter()


def _resolve(func_name: str) -> Tuple[Any, str]:
    """Returns (owner, attribute) for a dotted path; raises ImportError or
    AttributeError naming the part that failed."""
    parts = func_name.split(".")
    owner = None
    split = 0
    for split in range(len(parts) - 1, 0, -1):
        try:
            owner = importlib.import_module(".".join(parts[:split]))
            break
        except ImportError:
            continue
    if owner is None:
        raise ImportError(f"no importable module in '{func_name}'")
    for part in parts[split:-1]:
        owner = getattr(owner, part)
    getattr(owner, parts[-1])
    return owner, parts[-1]


@dataclass
class _Patch:
    owner: Any
    attr: str
    had_own: bool
    original_raw: Any


class RewriterContext:
    """Applies the registered rewriters inside a ``with`` block.

    On entry each registered function or method is replaced by its rewriter;
    on exit (also when an exception leaves the block) the originals come
    back. A rewriter whose dotted path cannot be resolved is skipped with a
    RewriterWarning naming it. Each context counts marked calls afresh, so
    func_ids restart at 0 for every export.

    Args:
        cfg: the deploy config; rewriters see it as ``ctx.cfg``, and marks
            are exported only if ``partition_config.apply_marks`` is true.
        backend: selects backend-specific rewriters.
        rewriter: the registry to apply (defaults to FUNCTION_REWRITER).
        kwargs: extra attributes of the rewriter call context.
    """

    def __init__(self, cfg: Any = None, backend: str = DEFAULT_BACKEND,
                 rewriter: Optional[FunctionRewriter] = None,
                 **kwargs: Any) -> None:
        self.cfg = cfg if cfg is not None else {}
        self.backend = backend or DEFAULT_BACKEND
        self.extra = kwargs
        self.mark_counter = MarkCounter()
        self._registry = rewriter or FUNCTION_REWRITER
        self._patches: List[_Patch] = []
        self._token: Optional[contextvars.Token] = None

    def __enter__(self) -> "RewriterContext":
        try:
            for reg in self._registry.registrations_for(self.backend):
                self._apply(reg)
        except BaseException:
            self._restore()
            raise
        self._token = _ACTIVE_CONTEXTS.set(_ACTIVE_CONTEXTS.get() + (self,))
        return self

    def __exit__(self, *exc_info: Any) -> None:
        if self._token is not None:
            _ACTIVE_CONTEXTS.reset(self._token)
            self._token = None
        self._restore()

    def _apply(self, reg: _Registration) -> None:
        try:
            owner, attr = _resolve(reg.func_name)
        except (ImportError, AttributeError) as e:
            warnings.warn(
                f"rewriter for '{reg.func_name}' skipped: cannot resolve the "
                f"path ({e}); is its package installed?", RewriterWarning,
                stacklevel=3)
            return
        had_own = attr in getattr(owner, "__dict__", {})
        original_raw = (owner.__dict__[attr] if had_own
                        else inspect.getattr_static(owner, attr))
        # A classmethod's rewriter receives `cls` and calls the unbound
        # function with it, so subclasses keep their own `cls`.
        origin = (original_raw.__func__ if isinstance(original_raw, classmethod)
                  else getattr(owner, attr))
        setattr(owner, attr, self._wrap(reg, origin, original_raw))
        self._patches.append(_Patch(owner, attr, had_own, original_raw))

    def _wrap(self, reg: _Registration, origin: Callable,
              original_raw: Any) -> Any:
        cfg, backend, extra = self.cfg, self.backend, self.extra

        def rewritten(*args: Any, **kwargs: Any) -> Any:
            call = RewriteCall(origin, cfg, backend, reg.func_name, extra)
            token = _ACTIVE_CALLS.set(_ACTIVE_CALLS.get() + (call,))
            try:
                if reg.takes_ctx:
                    return reg.rewriter(call, *args, **kwargs)
                return reg.rewriter(*args, **kwargs)
            finally:
                _ACTIVE_CALLS.reset(token)

        rewritten.__name__ = getattr(origin, "__name__", reg.func_name)
        rewritten.__qualname__ = getattr(origin, "__qualname__",
                                         reg.func_name)
        rewritten.__wrapped__ = origin
        # Keep the kind of attribute the original was, so that `self` and
        # `cls` are bound as before.
        if isinstance(original_raw, staticmethod):
            return staticmethod(rewritten)
        if isinstance(original_raw, classmethod):
            return classmethod(rewritten)
        return rewritten

    def _restore(self) -> None:
        while self._patches:
            patch = self._patches.pop()
            if patch.had_own:
                setattr(patch.owner, patch.attr, patch.original_raw)
            else:
                delattr(patch.owner, patch.attr)


