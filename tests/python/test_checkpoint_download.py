"""Checkpoints by URL: downloaded once into the cache, hash-checked, nothing
partial left on failure. Served by an HTTP server on 127.0.0.1 that the test
starts (there is no other network)."""
import hashlib
import http.server
import logging
import threading
from pathlib import Path

import pytest

from mmdeploy_mark.checkpoints import (CheckpointDownloadError, CheckpointHashError,
                                       expected_hash_prefix, is_url, resolve_checkpoint)

PAYLOAD = bytes(range(256)) * 4096 * 3  # 3 MiB: more than one chunk


class _Handler(http.server.BaseHTTPRequestHandler):
    files = {}   # path -> bytes
    cut = set()  # paths whose body stops halfway
    hits = []

    def do_GET(self):  # noqa: N802 (http.server's naming)
        self.hits.append(self.path)
        body = self.files.get(self.path)
        if body is None:
            self.send_error(404, "no such checkpoint")
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.path in self.cut:
            self.wfile.write(body[:len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture()
def server():
    handler = type("Handler", (_Handler,), {"files": {}, "cut": set(), "hits": []})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield base, handler
    httpd.shutdown()
    httpd.server_close()


def _name(prefix_of_hash: str) -> str:
    return f"/mmdetection/v2.0/yolo/yolov3_d53_20210518_115020-{prefix_of_hash}.pth"


def test_url_detection_and_hash_in_name():
    assert is_url("https://download.openmmlab.com/x.pth") and is_url("HTTP://h/x.pth")
    assert not is_url("weights/x.pth") and not is_url(None)
    assert expected_hash_prefix("yolov3_20210518_115020-a2c3acb8.pth") == "a2c3acb8"
    assert expected_hash_prefix("resnet50.pth") is None
    assert resolve_checkpoint("local/file.pth") == "local/file.pth"


def test_downloads_once_checks_hash_and_reuses_cache(server, tmp_path, caplog):
    base, handler = server
    digest = hashlib.sha256(PAYLOAD).hexdigest()
    path = _name(digest[:8])
    handler.files[path] = PAYLOAD
    caplog.set_level(logging.INFO, logger="mmdeploy_mark")
    got = resolve_checkpoint(base + path, cache_dir=tmp_path)
    assert Path(got).read_bytes() == PAYLOAD
    assert [p.name for p in tmp_path.iterdir()] == [path.rsplit("/", 1)[1]]
    assert "100% (3.0 of 3.0 MiB)" in caplog.text
    # The second time the cache answers: the server is not asked again.
    assert resolve_checkpoint(base + path, cache_dir=tmp_path) == got
    assert handler.hits == [path]


def test_hash_mismatch_keeps_nothing(server, tmp_path):
    base, handler = server
    path = _name("00000000")
    handler.files[path] = PAYLOAD
    with pytest.raises(CheckpointHashError, match="name says it starts with 00000000"):
        resolve_checkpoint(base + path, cache_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_corrupt_cached_file_is_downloaded_again(server, tmp_path):
    base, handler = server
    digest = hashlib.sha256(PAYLOAD).hexdigest()
    path = _name(digest[:8])
    handler.files[path] = PAYLOAD
    (tmp_path / path.rsplit("/", 1)[1]).write_bytes(b"truncated")
    got = resolve_checkpoint(base + path, cache_dir=tmp_path)
    assert Path(got).read_bytes() == PAYLOAD and handler.hits == [path]


def test_connection_cut_halfway_keeps_nothing(server, tmp_path):
    base, handler = server
    path = "/weights/model.pth"
    handler.files[path] = PAYLOAD
    handler.cut.add(path)
    with pytest.raises(CheckpointDownloadError, match="nothing was kept"):
        resolve_checkpoint(base + path, cache_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_http_error_and_refused_connection_say_so(server, tmp_path):
    base, _ = server
    with pytest.raises(CheckpointDownloadError, match="HTTP 404"):
        resolve_checkpoint(base + "/missing.pth", cache_dir=tmp_path)
    # A port nobody listens on: the server fixture's port after shutdown is
    # not reliable, so bind one and close it.
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    with pytest.raises(CheckpointDownloadError, match="Check the network"):
        resolve_checkpoint(f"http://127.0.0.1:{port}/x.pth", cache_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_url_without_file_name(tmp_path):
    with pytest.raises(CheckpointDownloadError, match="does not end in a file name"):
        resolve_checkpoint("https://example.invalid/", cache_dir=tmp_path)
