"""Checkpoints given by URL, as in mmdeploy's commands: downloaded once into
a cache, checked, and only then put in place.

The cache is torch.hub's (``$TORCH_HOME/hub/checkpoints``, by default
``~/.cache/torch/hub/checkpoints``), where mmengine and torchvision keep
theirs too, so a checkpoint one of them downloaded is found again. A file
name that carries a hash prefix (``..._20210518_115020-a2c3acb8.pth``, the
torch.hub and OpenMMLab convention) is checked against the SHA-256 of the
content, for a cached file as for a new download.

A download goes to a temporary file beside its target and is renamed over
it only when complete and checked, so a failed or interrupted download
leaves nothing behind and a concurrent reader never sees half a file.
"""
from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Optional, Union
from urllib.parse import unquote, urlparse

__all__ = ["CheckpointDownloadError", "CheckpointHashError", "checkpoint_cache_dir",
           "is_url", "resolve_checkpoint"]

LOG = logging.getLogger("mmdeploy_mark")

# "<anything>-<hex>.<ext>": the hex is a prefix of the file's SHA-256.
_HASH_IN_NAME = re.compile(r"-([0-9a-f]{8,64})\.[^.]+$")
_CHUNK = 1 << 20
_PROGRESS_EVERY_S = 2.0


class CheckpointDownloadError(RuntimeError):
    """A checkpoint URL could not be downloaded; nothing was kept."""


class CheckpointHashError(CheckpointDownloadError):
    """A checkpoint's content does not match the hash its file name carries."""


def is_url(spec: Union[str, "os.PathLike[str]", None]) -> bool:
    """True for an ``http://`` or ``https://`` checkpoint argument."""
    return isinstance(spec, str) and spec.lower().startswith(("http://", "https://"))


def checkpoint_cache_dir() -> Path:
    """Where downloaded checkpoints are kept (torch.hub's directory)."""
    import torch.hub

    return Path(torch.hub.get_dir()) / "checkpoints"


def expected_hash_prefix(file_name: str) -> Optional[str]:
    """The SHA-256 prefix a file name carries, or None."""
    match = _HASH_IN_NAME.search(file_name)
    return match.group(1) if match else None


def resolve_checkpoint(spec: Union[str, "os.PathLike[str]", None],
                       cache_dir: Union[str, "os.PathLike[str]", None] = None,
                       timeout: float = 60.0) -> Optional[str]:
    """Returns a local path for a checkpoint argument.

    A local path (or None) is returned unchanged. A URL is downloaded into
    ``cache_dir`` (default :func:`checkpoint_cache_dir`) unless a file of
    that name is already there and passes the hash check.

    Raises:
        CheckpointDownloadError: the URL names no file, the server or the
            network failed, or the body was cut short (the message says
            which, and that nothing was kept).
        CheckpointHashError: the content does not match the hash prefix in
            the file name.
    """
    if not is_url(spec):
        return None if spec is None else os.fspath(spec)
    url = str(spec)
    name = unquote(Path(urlparse(url).path).name)
    if not name or name in (".", "..") or "/" in name or "\\" in name:
        raise CheckpointDownloadError(
            f"checkpoint URL {url} does not end in a file name; give the URL of the "
            f".pth file itself")
    directory = Path(cache_dir) if cache_dir is not None else checkpoint_cache_dir()
    target = directory / name
    expected = expected_hash_prefix(name)
    if target.is_file():
        if expected is None or _sha256(target).startswith(expected):
            LOG.info("checkpoint: %s (cached from %s)", target, url)
            return str(target)
        LOG.warning("checkpoint: cached %s does not match the hash %s its name carries; "
                    "downloading it again", target, expected)
    directory.mkdir(parents=True, exist_ok=True)
    _download(url, target, expected, timeout)
    return str(target)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _download(url: str, target: Path, expected: Optional[str], timeout: float) -> None:
    """Downloads into a temporary file beside ``target``, checks, renames."""
    fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part",
                                     dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            digest = _fetch(url, out, target, timeout)
        if expected is not None and not digest.startswith(expected):
            raise CheckpointHashError(
                f"checkpoint {url}: the downloaded file's SHA-256 is {digest[:16]}..., but "
                f"its name says it starts with {expected}; the download is corrupt or the "
                f"server sent another file. Nothing was kept; try again, or download it "
                f"yourself and pass the file's path")
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    LOG.info("checkpoint: saved %s%s", target,
             f" (SHA-256 matches {expected})" if expected else "")


def _fetch(url: str, out, target: Path, timeout: float) -> str:
    """Streams ``url`` into ``out``; returns the SHA-256 of what was written."""
    request = urllib.request.Request(url, headers={"User-Agent": "mmdeploy_mark"})
    digest = hashlib.sha256()
    received = 0
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            total = response.headers.get("Content-Length")
            total = int(total) if total and total.isdigit() else None
            LOG.info("checkpoint: downloading %s%s into %s", url,
                     f" ({total / 2**20:.1f} MiB)" if total else "", target.parent)
            last_report = time.monotonic()
            while True:
                chunk = response.read(_CHUNK)
                if not chunk:
                    break
                out.write(chunk)
                digest.update(chunk)
                received += len(chunk)
                now = time.monotonic()
                if now - last_report >= _PROGRESS_EVERY_S:
                    last_report = now
                    LOG.info("checkpoint: %s", _progress(received, total))
    except urllib.error.HTTPError as e:
        raise CheckpointDownloadError(
            f"downloading checkpoint {url} failed: the server answered HTTP {e.code} "
            f"{e.reason}; check the URL. Nothing was kept") from e
    except (urllib.error.URLError, OSError, ValueError) as e:
        reason = getattr(e, "reason", None) or e
        raise CheckpointDownloadError(
            f"downloading checkpoint {url} failed after {received} bytes: "
            f"{type(e).__name__}: {reason}. Check the network (or proxy), or download the "
            f"file yourself and pass its path; nothing was kept") from e
    if total is not None and received != total:
        raise CheckpointDownloadError(
            f"downloading checkpoint {url} failed: the connection ended after {received} "
            f"of {total} bytes; nothing was kept, try again")
    LOG.info("checkpoint: %s", _progress(received, total))
    return digest.hexdigest()


def _progress(received: int, total: Optional[int]) -> str:
    if total:
        return f"{100 * received // total}% ({received / 2**20:.1f} of {total / 2**20:.1f} MiB)"
    return f"{received / 2**20:.1f} MiB"
