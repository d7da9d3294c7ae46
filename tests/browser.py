"""Drives Debian's headless Chromium over the DevTools protocol (websocket), with no extra Python packages.

`open_page` loads a file:// URL with the network switched off and returns what the page did: console messages,
uncaught exceptions, every network request, values read from the DOM by a JavaScript expression, a screenshot.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from websockets.sync.client import connect

CHROMIUM = Path("/usr/bin/chromium")
# Flags this machine needs, plus belt-and-braces against any network use by the page or the browser.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--mute-audio",
    "--hide-scrollbars",
    "--proxy-server=http://127.0.0.1:9",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--remote-debugging-port=0",
    "--window-size=1280,2400",
)


def ensure_chromium() -> str | None:
    """Installs Debian's chromium when missing; returns a reason to skip when that is impossible."""
    if CHROMIUM.exists():
        return None
    if shutil.which("apt-get") is None:
        return "chromium is not installed and apt-get is unavailable"
    for cmd in (["apt-get", "update"], ["apt-get", "install", "-y", "chromium"]):
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            return f"`{' '.join(cmd)}` failed: {done.stderr.strip()[-300:]}"
    return None if CHROMIUM.exists() else "apt-get install chromium did not provide /usr/bin/chromium"


@dataclass
class PageReport:
    console: list[dict] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    log_entries: list[dict] = field(default_factory=list)
    value: object = None

    @property
    def errors(self) -> list[str]:
        out = [f"console.{m['type']}: {m['text']}" for m in self.console if m["type"] in ("error", "assert")]
        out += [f"exception: {e}" for e in self.exceptions]
        out += [f"log.{e['level']}: {e['text']}" for e in self.log_entries if e["level"] == "error"]
        return out


class _Session:
    def __init__(self, ws) -> None:
        self.ws = ws
        self.next_id = 0
        self.events: list[dict] = []

    def send(self, method: str, params: dict | None = None, session: str | None = None, timeout: float = 30) -> dict:
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self.ws.send(json.dumps(message))
        deadline = time.monotonic() + timeout
        while True:
            reply = json.loads(self.ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 30) -> dict:
        for event in self.events:
            if event.get("method") == method:
                return event
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            event = json.loads(self.ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            self.events.append(event)
            if event.get("method") == method:
                return event
        raise TimeoutError(method)

    def drain(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                self.events.append(json.loads(self.ws.recv(timeout=max(0.05, deadline - time.monotonic()))))
            except TimeoutError:
                return


def open_page(html_file: Path, expression: str, screenshot: Path | None = None, settle_s: float = 1.0) -> PageReport:
    """Loads `html_file` offline, evaluates `expression` (JSON-returning JavaScript) and reports what happened."""
    profile = Path(tempfile.mkdtemp(prefix="chromium-profile-"))
    proc = subprocess.Popen(
        [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", "about:blank"],
        env={**os.environ, "TMPDIR": str(profile)},  # its org.chromium.* scratch folders go with the profile
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        ws_url = _browser_ws_url(profile, proc)
        with connect(ws_url, max_size=64 * 1024 * 1024, open_timeout=20) as ws:
            return _load(_Session(ws), html_file, expression, screenshot, settle_s)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        shutil.rmtree(profile, ignore_errors=True)


def _load(cdp: _Session, html_file: Path, expression: str, screenshot: Path | None, settle_s: float) -> PageReport:
    target = cdp.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    sid = cdp.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    for domain in ("Page", "Runtime", "Network", "Log"):
        cdp.send(f"{domain}.enable", session=sid)
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
        session=sid,
    )
    cdp.events.clear()
    cdp.send("Page.navigate", {"url": html_file.resolve().as_uri()}, session=sid)
    cdp.wait_for("Page.loadEventFired")
    cdp.drain(settle_s)  # late console messages and requests
    result = cdp.send("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=sid)
    report = _report(cdp.events)
    report.value = result.get("result", {}).get("value")
    if "exceptionDetails" in result:
        report.exceptions.append(f"evaluate: {result['exceptionDetails'].get('text')}")
    if screenshot is not None:
        shot = cdp.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}, session=sid)
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        screenshot.write_bytes(base64.b64decode(shot["data"]))
    return report


def _browser_ws_url(profile: Path, proc: subprocess.Popen, timeout: float = 30) -> str:
    port_file = profile / "DevToolsActivePort"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"chromium exited with code {proc.returncode}")
        if port_file.exists():
            lines = port_file.read_text().split()
            if len(lines) >= 2:
                return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
        time.sleep(0.1)
    raise TimeoutError("chromium did not report its DevTools port")


def _report(events: list[dict]) -> PageReport:
    report = PageReport()
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled":
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
            report.console.append({"type": params.get("type"), "text": text})
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            report.exceptions.append(details.get("exception", {}).get("description") or details.get("text", ""))
        elif method == "Network.requestWillBeSent":
            report.requests.append(params.get("request", {}).get("url", ""))
        elif method == "Log.entryAdded":
            entry = params.get("entry", {})
            report.log_entries.append({"level": entry.get("level"), "text": entry.get("text")})
    return report
