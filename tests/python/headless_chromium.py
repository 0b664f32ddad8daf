"""Looks at a page as a person would: Debian's headless Chromium, driven
through the DevTools protocol over a pipe (--remote-debugging-pipe: no port,
no network).

``look_at(url, screenshot)`` loads the page and returns what a reader gets:
the rendered text (``innerText``, so hidden text does not count), every
console error, uncaught exception and failed or refused load (a CSP
violation, a missing file) the browser reported, and a full-page PNG.
"""
from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

TIMEOUT_S = 60.0


class BrowserError(RuntimeError):
    """Chromium could not be started, or did not answer in time."""


def find_chromium() -> Optional[str]:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class PageView:
    text: str
    errors: List[str] = field(default_factory=list)
    width: int = 0
    height: int = 0
    screenshot: str = ""


def _above(fd: int, lowest: int) -> int:
    """``fd`` moved to a number >= ``lowest`` (the old one is closed)."""
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD, lowest)
    os.close(fd)
    return moved


class _Pipe:
    """DevTools messages: JSON terminated by NUL, fd 3 in, fd 4 out."""

    def __init__(self, chromium: str, profile: str, width: int, height: int) -> None:
        to_chrome_r, self.to_chrome = os.pipe()
        self.from_chrome, from_chrome_w = os.pipe()
        # The child's ends go above 10 first: were one of them 3 or 4, moving
        # them onto 3 and 4 below would overwrite it.
        to_chrome_r, from_chrome_w = (_above(to_chrome_r, 10), _above(from_chrome_w, 10))
        args = ["--headless", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--no-default-browser-check",
                "--disable-extensions", f"--user-data-dir={profile}",
                f"--window-size={width},{height}", "about:blank"]
        # The protocol wants fds 3 and 4; bash moves our pipe ends there (dash
        # takes single-digit fds only).
        self.process = subprocess.Popen(
            ["bash", "-c", f'exec "$0" "$@" 3<&{to_chrome_r} 4>&{from_chrome_w}', chromium,
             *args], pass_fds=(to_chrome_r, from_chrome_w), stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self.buffer = b""
        self.next_id = 0
        self.events: List[Dict[str, Any]] = []

    def send(self, method: str, session: Optional[str] = None, **params) -> Dict[str, Any]:
        self.next_id += 1
        message: Dict[str, Any] = {"id": self.next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self.to_chrome, json.dumps(message).encode() + b"\0")
        reply = self.wait(lambda m: m.get("id") == self.next_id, method)
        if "error" in reply:
            raise BrowserError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def wait(self, wanted, what: str) -> Dict[str, Any]:
        """Reads messages until ``wanted(message)``; keeps the events."""
        deadline = time.monotonic() + TIMEOUT_S
        while True:
            while b"\0" in self.buffer:
                raw, self.buffer = self.buffer.split(b"\0", 1)
                message = json.loads(raw)
                if "method" in message:
                    self.events.append(message)
                if wanted(message):
                    return message
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self.from_chrome], [], [], max(left, 0))
            chunk = os.read(self.from_chrome, 1 << 20) if ready else b""
            if not chunk:
                raise BrowserError(f"chromium did not answer {what} within {TIMEOUT_S:.0f} s "
                                   f"(exit code {self.process.poll()}): {self._stderr()}")
            self.buffer += chunk

    def _stderr(self) -> str:
        if self.process.poll() is None:
            return "(still running)"
        return self.process.stderr.read().decode(errors="replace")[-2000:]

    def close(self) -> None:
        try:
            os.write(self.to_chrome, json.dumps(
                {"id": 0, "method": "Browser.close", "params": {}}).encode() + b"\0")
        except OSError:
            pass
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process.stderr.close()
        os.close(self.to_chrome)
        os.close(self.from_chrome)


def _errors(events: List[Dict[str, Any]]) -> List[str]:
    found = []
    for event in events:
        method, params = event["method"], event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            found.append("console: " + " ".join(str(a.get("value", a.get("description")))
                                                for a in params.get("args", [])))
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            found.append("exception: " + str(details.get("exception", {}).get(
                "description", details.get("text"))))
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            entry = params["entry"]
            found.append(f"{entry.get('source')}: {entry.get('text')} {entry.get('url', '')}")
    return found


def look_at(url: str, screenshot: str, width: int = 1280, height: int = 900) -> PageView:
    """Loads ``url`` in a fresh headless Chromium; writes a full-page PNG.

    Raises:
        BrowserError: Chromium is missing, fails, or does not answer.
    """
    chromium = find_chromium()
    if chromium is None:
        raise BrowserError("chromium is not installed (apt-get install chromium, or "
                           "bash scripts/setup.sh)")
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        pipe = _Pipe(chromium, profile, width, height)
        try:
            target = pipe.send("Target.createTarget", url="about:blank")["targetId"]
            session = pipe.send("Target.attachToTarget", targetId=target,
                                flatten=True)["sessionId"]
            for domain in ("Page", "Runtime", "Log"):
                pipe.send(f"{domain}.enable", session)
            pipe.send("Emulation.setDeviceMetricsOverride", session, width=width,
                      height=height, deviceScaleFactor=1, mobile=False)
            navigation = pipe.send("Page.navigate", session, url=url)
            if navigation.get("errorText"):
                raise BrowserError(f"cannot load {url}: {navigation['errorText']}")
            pipe.wait(lambda m: m.get("method") == "Page.loadEventFired"
                      and m.get("sessionId") == session, "Page.loadEventFired")
            text = pipe.send("Runtime.evaluate", session, expression="document.body.innerText",
                             returnByValue=True)["result"].get("value", "")
            size = pipe.send("Page.getLayoutMetrics", session)["cssContentSize"]
            page_w, page_h = int(size["width"]), int(size["height"])
            shot = pipe.send("Page.captureScreenshot", session, format="png",
                             captureBeyondViewport=True,
                             clip=dict(x=0, y=0, width=page_w, height=page_h, scale=1))
            with open(screenshot, "wb") as f:
                f.write(base64.b64decode(shot["data"]))
            return PageView(text=text, errors=_errors(pipe.events), width=page_w,
                            height=page_h, screenshot=screenshot)
        finally:
            pipe.close()
