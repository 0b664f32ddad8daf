"""All of a run's outputs, or none: files are written into a private staging
directory beside the work dir and moved into it together at the end.

A failed or interrupted run (an exception, Ctrl-C) removes the staging
directory and leaves the work dir as it was, and creates no work dir that
did not exist. The staging directory sits in the work dir's parent so that
publishing is a rename on one filesystem, never a copy. An output outside the
work dir (``external``) is written beside its destination and renamed onto it
by the same publish.

Staging names carry the process id (``.<name>.staging-<pid>-<random>``), so
that what a killed run (SIGKILL) left behind is recognised and removed by the
next run that stages beside it: entries of processes that no longer exist.
"""
from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from pathlib import Path
from typing import List, Optional, Tuple

# Files a run of the tools may have written: what a reused work dir is
# checked for (other files are the user's and are left alone).
OUTPUT_SUFFIXES = (".onnx", ".data", ".svg", ".json", ".html", ".h5")


def _process_exists(pid: int) -> bool:
    if pid <= 0:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_staging(directory: Path, name: str) -> None:
    """Removes ``.<name>.staging-<pid>-*`` entries of ``directory`` whose
    process is gone (left by a killed run); never follows symlinks."""
    prefix = f".{name}.staging-"
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return
    for entry in entries:
        if not entry.name.startswith(prefix):
            continue
        pid, sep, _ = entry.name[len(prefix):].partition("-")
        if not sep or not pid.isdigit() or int(pid) == os.getpid() or \
                _process_exists(int(pid)):
            continue
        try:
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
            elif entry.is_file(follow_symlinks=False):
                os.unlink(entry.path)
        except OSError:
            pass


class StagedOutputs:
    """Use as a context manager::

        with StagedOutputs(work_dir) as staged:
            write(staged.path("end2end.onnx"))
            staged.publish()   # moves every staged file into work_dir
    """

    def __init__(self, work_dir: str) -> None:
        self.work_dir = Path(work_dir)
        if self.work_dir.exists() and not self.work_dir.is_dir():
            raise NotADirectoryError(
                f"--work-dir '{work_dir}' is a file, not a directory; name a "
                f"directory (it is created if missing)")
        self.dir: Optional[Path] = None
        self.published: List[Path] = []
        # Directories __enter__ created, removed again by a failed run.
        self._created: List[Path] = []
        # (temporary file, destination) of outputs outside the work dir.
        self._external: List[Tuple[Path, Path]] = []

    def __enter__(self) -> "StagedOutputs":
        parent = self.work_dir.resolve().parent
        missing = []
        at = parent
        while not at.exists() and at != at.parent:
            missing.append(at)
            at = at.parent
        for directory in reversed(missing):
            directory.mkdir()
            self._created.append(directory)
        remove_stale_staging(parent, self.work_dir.name)
        self.dir = Path(tempfile.mkdtemp(
            prefix=f".{self.work_dir.name}.staging-{os.getpid()}-", dir=parent))
        return self

    def __exit__(self, *exc_info) -> None:
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
        for temp, _ in self._external:
            temp.unlink(missing_ok=True)
        self._external = []
        if not self.published:
            for directory in reversed(self._created):
                try:
                    directory.rmdir()  # only while empty
                except OSError:
                    break
        self._created = []

    def path(self, name: str) -> str:
        """Where to write the output that will be ``work_dir/name``."""
        assert self.dir is not None, "use StagedOutputs as a context manager"
        return str(self.dir / name)

    def external(self, target: str) -> str:
        """Where to write an output that lives outside the work dir: a
        temporary name beside ``target`` (whose directory must exist), renamed
        onto it by publish() and removed if the run fails."""
        assert self.dir is not None, "use StagedOutputs as a context manager"
        destination = Path(target)
        remove_stale_staging(destination.parent, destination.name)
        temp = destination.parent / \
            f".{destination.name}.staging-{os.getpid()}-{secrets.token_hex(4)}"
        self._external.append((temp, destination))
        return str(temp)

    def staged_files(self) -> List[str]:
        """Names (relative to the work dir) of every staged file."""
        assert self.dir is not None
        return sorted(str(p.relative_to(self.dir)) for p in self.dir.rglob("*")
                      if p.is_file())

    def publish(self) -> List[Path]:
        """Moves every staged file into the work dir (created if missing);
        returns their final paths."""
        assert self.dir is not None
        self.work_dir.mkdir(parents=True, exist_ok=True)
        for name in self.staged_files():
            target = self.work_dir / name
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self.dir / name, target)
            self.published.append(target)
        for temp, destination in self._external:
            if temp.exists():
                os.replace(temp, destination)
                self.published.append(destination)
        self._external = []
        return self.published


def earlier_outputs(work_dir: str, written: List[str]) -> List[str]:
    """Files in ``work_dir`` that look like the tools' outputs but this run did
    not write (names relative to the work dir, sorted)."""
    root = Path(work_dir)
    if not root.is_dir():
        return []
    keep = set(written)
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")
                  if p.is_file() and p.name.endswith(OUTPUT_SUFFIXES)
                  and str(p.relative_to(root)) not in keep
                  and not p.name.startswith("."))
