"""`tests/browser.py` plus what the chart and filter tests need: CSP violations, real clicks and real downloads.

- CSP violations are recorded by a `securitypolicyviolation` listener that DevTools installs before any page script
  runs (`Page.addScriptToEvaluateOnNewDocument`; the page's own CSP does not apply to it), so a violation is caught
  even where the console stays quiet.
- A click is a real mouse press and release at the element's centre (`Input.dispatchMouseEvent`).
- A download clicks the link with `Browser.setDownloadBehavior` on, waits for `Browser.downloadProgress` to complete
  and returns the file's bytes as text.
The network stays off as in `open_page`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from browser import CHROMIUM, FLAGS, _browser_ws_url, _report, _Session
from websockets.sync.client import connect

CSP_LISTENER = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', e => window.__csp.push(
  {directive: e.violatedDirective, blocked: e.blockedURI, sample: e.sample}));
"""


@dataclass
class Eval:
    """Evaluate JSON-returning JavaScript; the value goes under `name`."""

    name: str
    expression: str


@dataclass
class Click:
    """Click the element `selector`, then evaluate `then` (if given) under `name`."""

    name: str
    selector: str
    then: str | None = None


@dataclass
class Download:
    """Click the download link `selector`; {state, filename, text} under `name`."""

    name: str
    selector: str


@dataclass
class ActionReport:
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    csp_violations: list[dict] = field(default_factory=list)
    values: dict = field(default_factory=dict)


def drive_page(html_file: Path, actions: list[Eval | Click | Download], settle_s: float = 0.5) -> ActionReport:
    """Opens `html_file` offline in headless Chromium and performs `actions` in order."""
    profile = Path(tempfile.mkdtemp(prefix="chromium-actions-"))
    proc = subprocess.Popen(
        [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", "about:blank"],
        env={**os.environ, "TMPDIR": str(profile)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with connect(_browser_ws_url(profile, proc), max_size=64 * 1024 * 1024, open_timeout=20) as ws:
            return _drive(_Session(ws), Path(html_file), actions, settle_s, profile)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        shutil.rmtree(profile, ignore_errors=True)


def _evaluate(cdp: _Session, sid: str, expression: str):
    result = cdp.send("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=sid)
    if "exceptionDetails" in result:
        raise RuntimeError(f"evaluate: {result['exceptionDetails'].get('text')}: {expression[:200]}")
    return result.get("result", {}).get("value")


def _press(cdp: _Session, sid: str, selector: str) -> None:
    centre = _evaluate(
        cdp,
        sid,
        f"""(() => {{ const e = document.querySelector({json.dumps(selector)}); if (!e) return null;
        e.scrollIntoView({{block: 'center'}}); const r = e.getBoundingClientRect();
        return [r.left + r.width / 2, r.top + r.height / 2]; }})()""",
    )
    if not centre:
        raise LookupError(f"no element {selector}")
    x, y = centre
    cdp.send("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": x, "y": y}, session=sid)
    for kind in ("mousePressed", "mouseReleased"):
        cdp.send(
            "Input.dispatchMouseEvent",
            {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1},
            session=sid,
        )


def _drive(cdp: _Session, html_file: Path, actions, settle_s: float, profile: Path) -> ActionReport:
    target = cdp.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    sid = cdp.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    for domain in ("Page", "Runtime", "Network", "Log"):
        cdp.send(f"{domain}.enable", session=sid)
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
        session=sid,
    )
    cdp.send("Page.addScriptToEvaluateOnNewDocument", {"source": CSP_LISTENER}, session=sid)
    downloads = profile / "downloads"
    downloads.mkdir()
    cdp.send(
        "Browser.setDownloadBehavior",
        {"behavior": "allowAndName", "downloadPath": str(downloads), "eventsEnabled": True},
    )
    cdp.events.clear()
    cdp.send("Page.navigate", {"url": html_file.resolve().as_uri()}, session=sid)
    cdp.wait_for("Page.loadEventFired")
    cdp.drain(settle_s)
    out = ActionReport()
    for action in actions:
        if isinstance(action, Eval):
            out.values[action.name] = _evaluate(cdp, sid, action.expression)
        elif isinstance(action, Click):
            _press(cdp, sid, action.selector)
            cdp.drain(0.3)
            if action.then:
                out.values[action.name] = _evaluate(cdp, sid, action.then)
        elif isinstance(action, Download):
            out.values[action.name] = _download(cdp, sid, action.selector, downloads)
    out.csp_violations = json.loads(_evaluate(cdp, sid, "JSON.stringify(window.__csp)") or "[]")
    report = _report(cdp.events)
    out.errors, out.requests = report.errors, report.requests
    return out


def _download(cdp: _Session, sid: str, selector: str, folder: Path) -> dict:
    before = len(cdp.events)
    _press(cdp, sid, selector)
    deadline = time.monotonic() + 15
    state = guid = filename = None
    while time.monotonic() < deadline and state != "completed":
        cdp.drain(0.2)
        for event in cdp.events[before:]:
            if event.get("method") == "Browser.downloadWillBegin":
                guid, filename = event["params"]["guid"], event["params"]["suggestedFilename"]
            elif event.get("method") == "Browser.downloadProgress":
                state = event["params"]["state"]
    path = folder / guid if guid else None
    text = path.read_bytes().decode() if state == "completed" and path and path.exists() else None
    return {"state": state, "filename": filename, "text": text}
