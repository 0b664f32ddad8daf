"""custom_imports: a config names the modules (rewriters, models) to import
before export; the library itself registers no rewriter."""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import mmdeploy_mark
from mmdeploy_mark import FUNCTION_REWRITER, load_config, pipeline
from mmdeploy_mark.custom_imports import CustomImportWarning, import_custom_modules
from mmdeploy_mark.models import build_model

ROOT = Path(__file__).resolve().parents[2]
# Every module these tests write starts with this prefix and is forgotten
# after each test, so tests may reuse names with other contents.
PREFIX = "ci_"

REGISTERS_A_REWRITER = """\
from mmdeploy_mark import FUNCTION_REWRITER

@FUNCTION_REWRITER.register_rewriter('ci_somewhere.Model.forward')
def model__forward(self, x):
    return FUNCTION_REWRITER.get_context().origin_func(self, x)
"""


@pytest.fixture(autouse=True)
def _forget_written_modules():
    yield
    for name in [m for m in sys.modules if m.startswith(PREFIX)]:
        del sys.modules[name]


@pytest.fixture
def no_cwd_on_sys_path(monkeypatch):
    """sys.path without the current directory, as under `python
    tools/torch2onnx.py` (sys.path[0] is tools/) or an installed command."""
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", ".")])


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def config(tmp_path: Path, text: str, name: str = "configs/model_cfg.py"):
    return load_config(write(tmp_path / name, text))


def registered() -> set:
    return {name for name, _ in FUNCTION_REWRITER._registrations}


def test_a_config_imports_a_module_that_registers_a_rewriter(tmp_path, monkeypatch,
                                                             no_cwd_on_sys_path):
    write(tmp_path / "ci_rewriters.py", REGISTERS_A_REWRITER)
    cfg = config(tmp_path, "custom_imports = dict(imports=['ci_rewriters'], "
                           "allow_failed_imports=False)\n")
    monkeypatch.chdir(tmp_path)
    path_before = list(sys.path)
    modules = import_custom_modules(cfg)
    assert [m.__name__ for m in modules] == ["ci_rewriters"]
    assert "ci_somewhere.Model.forward" in registered()
    assert sys.path == path_before, "the current directory is on sys.path only while importing"
    assert import_custom_modules(cfg) == modules  # imported once, as Python does


def test_the_current_directory_comes_before_sys_path_and_the_builder_finds_the_model(
        tmp_path, monkeypatch, no_cwd_on_sys_path):
    for where in ("elsewhere", "project"):
        write(tmp_path / where / "ci_pkg" / "__init__.py", f"WHERE = {where!r}\n")
    write(tmp_path / "project" / "ci_pkg" / "nets.py", """\
        import torch

        class Net(torch.nn.Module):
            def forward(self, x):
                return x + 1
        """)
    monkeypatch.syspath_prepend(str(tmp_path / "elsewhere"))
    monkeypatch.chdir(tmp_path / "project")
    cfg = config(tmp_path, "custom_imports = dict(imports='ci_pkg.nets')\n"
                           "model = dict(type='ci_pkg.nets.Net')\n")
    (nets,) = import_custom_modules(cfg)
    assert sys.modules["ci_pkg"].WHERE == "project"
    # The current directory is off sys.path again; the package stays imported.
    assert isinstance(build_model(cfg), nets.Net)


def test_sys_path_is_searched_when_the_current_directory_lacks_the_module(
        tmp_path, monkeypatch, no_cwd_on_sys_path):
    write(tmp_path / "lib" / "ci_rewriters.py", REGISTERS_A_REWRITER)
    monkeypatch.syspath_prepend(str(tmp_path / "lib"))
    monkeypatch.chdir(write(tmp_path / "run" / "x.txt", "").parent)
    import_custom_modules(config(tmp_path, "custom_imports = dict(imports='ci_rewriters')\n"))
    assert "ci_somewhere.Model.forward" in registered()


def test_a_missing_module_fails_naming_the_module_the_file_and_the_key(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = config(tmp_path, "custom_imports = dict(imports=['os', 'ci_no_such_module'])\n")
    with pytest.raises(ImportError) as info:
        import_custom_modules(cfg)
    message = str(info.value)
    for part in ("'ci_no_such_module'", cfg.filename, "'custom_imports.imports[1]'",
                 "ModuleNotFoundError", "allow_failed_imports=True"):
        assert part in message
    assert isinstance(info.value.__cause__, ModuleNotFoundError)


def test_a_module_that_fails_inside_is_reported_with_its_error(tmp_path, monkeypatch):
    write(tmp_path / "ci_broken.py", "raise RuntimeError('boom')\n")
    monkeypatch.chdir(tmp_path)
    cfg = config(tmp_path, "custom_imports = dict(imports='ci_broken')\n")
    with pytest.raises(ImportError, match=r"'custom_imports.imports': cannot import "
                                          r"'ci_broken': RuntimeError: boom"):
        import_custom_modules(cfg)


def test_allow_failed_imports_warns_and_imports_the_others(tmp_path, monkeypatch):
    write(tmp_path / "ci_rewriters.py", REGISTERS_A_REWRITER)
    monkeypatch.chdir(tmp_path)
    cfg = config(tmp_path, "custom_imports = dict(imports=['ci_no_such_module', 'ci_rewriters'],"
                           " allow_failed_imports=True)\n")
    with pytest.warns(CustomImportWarning) as warned:
        modules = import_custom_modules(cfg)
    (warning,) = warned
    assert "'ci_no_such_module'" in str(warning.message)
    assert cfg.filename in str(warning.message)
    assert [m.__name__ for m in modules] == ["ci_rewriters"]
    assert "ci_somewhere.Model.forward" in registered()


@pytest.mark.parametrize("text, error, message", [
    ("custom_imports = dict(imports=3)", TypeError,
     "'custom_imports.imports' must be a module name or a list of module names, got int 3"),
    ("custom_imports = dict(imports=3, allow_failed_imports=True)", TypeError,
     "'custom_imports.imports' must be"),
    ("custom_imports = dict(imports=['os', None])", TypeError,
     "'custom_imports.imports[1]' must be a module name string"),
    ("custom_imports = 'os'", TypeError, "'custom_imports' must be a dict"),
    ("custom_imports = dict(imports='os', allow_failed_imports='yes')", TypeError,
     "'custom_imports.allow_failed_imports' must be True or False"),
    ("custom_imports = dict(import_=['os'])", ValueError, "unknown key(s) import_"),
    ("custom_imports = dict(allow_failed_imports=True)", ValueError, "has no 'imports'"),
    ("custom_imports = dict(imports='examples/yolov3/rewriters.py')", ValueError,
     "did you mean 'examples.yolov3.rewriters'?"),
    ("custom_imports = dict(imports='.rewriters')", ValueError,
     "not an absolute dotted module name"),
])
def test_malformed_custom_imports_name_the_file_and_the_key(tmp_path, text, error, message):
    cfg = config(tmp_path, text + "\n")
    with pytest.raises(error) as info:
        import_custom_modules(cfg)
    assert message in str(info.value) and cfg.filename in str(info.value)


def test_a_config_without_custom_imports_imports_nothing(tmp_path):
    assert import_custom_modules(config(tmp_path, "model = dict(type='torch.nn.ReLU')\n")) == []
    assert import_custom_modules({}) == []
    with pytest.raises(TypeError, match="<config dict>: 'custom_imports.imports'"):
        import_custom_modules({"custom_imports": {"imports": 3}})


def test_torch2onnx_imports_the_deploy_and_model_configs_custom_imports(
        tmp_path, monkeypatch, no_cwd_on_sys_path):
    write(tmp_path / "ci_net.py", """\
        import torch

        class Net(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)

            def forward(self, x):
                return self.conv(x).relu()
        """)
    write(tmp_path / "ci_conv_marks.py", """\
        from mmdeploy_mark import FUNCTION_REWRITER, mark

        @FUNCTION_REWRITER.register_rewriter('torch.nn.modules.conv.Conv2d.forward')
        def conv2d__forward(self, x):
            ctx = FUNCTION_REWRITER.get_context()
            return mark('conv', inputs=['x'], outputs=['y'])(
                lambda x: ctx.origin_func(self, x))(x)
        """)
    deploy = write(tmp_path / "deploy.py", """\
        custom_imports = dict(imports=['ci_conv_marks'])
        onnx_config = dict(input_shape=[16, 16], output_names=['output'])
        backend_config = dict(type='onnxruntime')
        """)
    model = write(tmp_path / "model.py", """\
        custom_imports = dict(imports=['ci_net'])
        model = dict(type='ci_net.Net')
        """)
    monkeypatch.chdir(tmp_path)
    pipeline.torch2onnx(str(deploy), str(model), None, "random", str(tmp_path / "work"))
    marks = mmdeploy_mark.list_marks(str(tmp_path / "work" / "end2end.marked.onnx"))
    assert {m.marker for m in marks} == {"conv[0]:input", "conv[0]:output"}


def test_importing_the_library_registers_no_rewriter(tmp_path):
    """The example's rewriters come only through custom_imports: a fresh
    interpreter that imports the library (not the example) has none."""
    code = textwrap.dedent("""\
        import importlib.util, sys
        import mmdeploy_mark, mmdeploy_mark.pipeline, mmdeploy_mark.models
        print(len(mmdeploy_mark.FUNCTION_REWRITER._registrations))
        print(sorted(m for m in sys.modules if m.split('.')[0] == 'examples'))
        print(importlib.util.find_spec('mmdeploy_mark.rewriters'))
        """)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:3] == ["0", "[]", "None"]


def test_the_tool_run_from_the_repository_root_imports_the_example(tmp_path):
    """`python tools/torch2onnx.py` puts tools/, not the repository root, on
    sys.path: the example config's custom_imports find `examples` through the
    current directory."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run(
        [sys.executable, "tools/torch2onnx.py",
         "configs/mmdet/detection/yolov3_partition_onnxruntime_static.py",
         "examples/yolov3/configs/yolov3_d53_tiny.py", "none", "random",
         "--work-dir", str(tmp_path)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    funcs = {m.func for m in mmdeploy_mark.list_marks(str(tmp_path / "end2end.marked.onnx"))}
    assert funcs == {"detector_forward", "yolo_head", "multiclass_nms"}
