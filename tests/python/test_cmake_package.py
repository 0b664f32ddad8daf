"""The installed package's CMake config: a separate C++ project finds it with
find_package(MMDeployMark), builds against the same torch, and runs."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import mmdeploy_mark

CONSUMER = Path(__file__).resolve().parents[1] / "cmake_consumer"


def run(cmd, cwd):
    result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, f"{' '.join(map(str, cmd))}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.mark.skipif(shutil.which("cmake") is None, reason="needs cmake")
def test_a_cmake_project_builds_against_the_installed_package(tmp_path):
    prefix = mmdeploy_mark.cmake_prefix_path
    assert (Path(prefix) / "lib/cmake/MMDeployMark/MMDeployMarkConfig.cmake").is_file()
    build = tmp_path / "build"
    run(["cmake", "-S", CONSUMER, "-B", build, "-DCMAKE_BUILD_TYPE=Release",
         f"-DCMAKE_PREFIX_PATH={prefix}", f"-DPython3_EXECUTABLE={sys.executable}"], tmp_path)
    run(["cmake", "--build", build, "-j", "2"], tmp_path)
    result = run([build / "mark_consumer"], tmp_path)
    assert result.stdout.strip()
