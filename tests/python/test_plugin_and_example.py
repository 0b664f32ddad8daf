"""The plugin loader's errors, and the C++ example program on a traced model."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import mmdeploy_mark
from mmdeploy_mark import _loader

ROOT = Path(__file__).resolve().parents[2]


def import_in_subprocess(env_overrides):
    env = dict(os.environ, **env_overrides)
    return subprocess.run([sys.executable, "-c", "import mmdeploy_mark"], env=env,
                          capture_output=True, text=True, timeout=120)


def test_missing_plugin_names_the_file_and_how_to_rebuild(tmp_path):
    missing = tmp_path / "libmmdeploy_mark_ops.so"
    result = import_in_subprocess({_loader.PLUGIN_ENV: str(missing)})
    assert result.returncode != 0
    assert "PluginLoadError" in result.stderr
    assert str(missing) in result.stderr and "bash scripts/setup.sh" in result.stderr


def test_plugin_built_for_another_torch_says_so(tmp_path):
    plugin = _loader.plugin_path()
    copy = tmp_path / plugin.name
    shutil.copy(plugin, copy)
    (tmp_path / "build_info.json").write_text(json.dumps({"torch_version": "9.9.0"}))
    result = import_in_subprocess({_loader.PLUGIN_ENV: str(copy)})
    assert result.returncode != 0
    assert "built against torch 9.9.0" in result.stderr
    assert f"running torch is {torch.__version__}" in result.stderr


def test_a_file_that_is_not_a_library_fails_with_both_versions(tmp_path):
    bogus = tmp_path / "libmmdeploy_mark_ops.so"
    bogus.write_bytes(b"not a shared object")
    result = import_in_subprocess({_loader.PLUGIN_ENV: str(bogus)})
    assert result.returncode != 0
    assert "cannot load the op plugin" in result.stderr and "running torch" in result.stderr


def test_loading_again_is_a_no_op():
    assert mmdeploy_mark.load_plugin() == mmdeploy_mark.load_plugin()


@pytest.fixture
def example_program(build_dir):
    program = build_dir / "torch_ext" / "mmdeploy_mark_example"
    if not program.is_file():
        pytest.fail(f"{program} is not built (run bash scripts/setup.sh)")
    return program


class Marked(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x):
        @mmdeploy_mark.mark("body", inputs=["input"], outputs=["feat"])
        def body(x):
            return torch.relu(self.conv(x))

        return body(x).mean(dim=(2, 3))


def test_example_program_lists_runs_strips_and_saves(example_program, tmp_path):
    traced = torch.jit.trace(Marked().eval(), torch.randn(1, 3, 8, 8))
    marked_path, stripped_path = tmp_path / "marked.pt", tmp_path / "stripped.pt"
    traced.save(str(marked_path))
    result = subprocess.run([str(example_program), str(marked_path), str(stripped_path),
                             "2", "3", "8", "8"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "marks: 2" in result.stdout
    assert "body[0]:input name=input" in result.stdout
    assert "body[0]:output name=feat" in result.stdout
    assert "stripped 2 marks; output shape [2, 4]" in result.stdout
    # The stripped file loads and runs in a process that never loads the plugin.
    check = (f"import torch; m = torch.jit.load({str(stripped_path)!r}); "
             "assert 'mmdeploy' not in str(m.graph); "
             "print(tuple(m(torch.randn(2, 3, 8, 8)).shape))")
    plain = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True,
                           timeout=120)
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout.strip() == "(2, 4)"


def test_example_program_reports_a_missing_file(example_program, tmp_path):
    result = subprocess.run([str(example_program), str(tmp_path / "none.pt"),
                             str(tmp_path / "out.pt"), "1"], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 1 and "error:" in result.stderr
    assert not (tmp_path / "out.pt").exists()
