"""The report opens in headless Chromium with no console message and no network request.

Needs the Debian package ``chromium`` (``/usr/bin/chromium``); skipped without it. Chromium
runs with background networking, component updates and sync off, every host name mapped
to "not found" (so nothing can leave the machine even if something tried), and a net log:
any request the *page* starts (initiator other than the browser itself) for anything but
the file itself fails the test, as does any console message (the report has no
JavaScript, so a console message means something went wrong, such as a blocked load).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="headless browser test needs /usr/bin/chromium (Debian package 'chromium'; "
    "apt-get install -y chromium)",
)

FIXED = "2026-01-01T00:00:00+00:00"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--host-resolver-rules=MAP * ~NOTFOUND",
)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("jinja2", reason="the report needs the 'report' extra (jinja2)")
    from alsmeta.cli import main

    out = tmp_path_factory.mktemp("report") / "report.html"
    assert main(["report", "-o", str(out), "--generated-at", FIXED]) == 0
    return out


def _chromium(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    profile = tmp / "profile"
    profile.mkdir(exist_ok=True)
    return subprocess.run(
        [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        cwd=tmp,
    )


def _page_requests(net_log: Path) -> list[str]:
    """URLs of the requests that the page (not the browser itself) started."""
    log: dict[str, Any] = json.loads(net_log.read_text(encoding="utf-8", errors="replace"))
    names = {v: k for k, v in log["constants"]["logEventTypes"].items()}
    urls = []
    for event in log.get("events", []):
        params = event.get("params") or {}
        if names.get(event.get("type")) != "URL_REQUEST_START_JOB" or "url" not in params:
            continue
        if params.get("initiator") == "not an origin":
            continue  # the browser's own traffic, blocked by the resolver rules anyway
        urls.append(str(params["url"]))
    return urls


def test_report_renders_without_console_errors_or_requests(report: Path, tmp_path: Path) -> None:
    screenshot = tmp_path / "report.png"
    net_log = tmp_path / "net.json"
    proc = _chromium(
        tmp_path,
        "--enable-logging=stderr",
        "--v=0",
        "--window-size=1280,4000",
        f"--log-net-log={net_log}",
        f"--screenshot={screenshot}",
        report.resolve().as_uri(),
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert screenshot.is_file()
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert screenshot.stat().st_size > 20_000, "the screenshot looks blank"
    console = [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]
    assert not console, "console messages:\n" + "\n".join(console)
    failed = [line for line in proc.stderr.splitlines() if "net::ERR_" in line]
    assert not failed, "failed requests:\n" + "\n".join(failed)
    requests = [u for u in _page_requests(net_log) if not u.startswith(("file:", "data:"))]
    assert not requests, f"the page requested: {requests}"


def test_rendered_dom_holds_the_report(report: Path, tmp_path: Path) -> None:
    proc = _chromium(tmp_path, "--dump-dom", report.resolve().as_uri())
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = proc.stdout
    assert 'data-key="primary.estimate"' in dom
    assert "<svg" in dom
    assert "Summary in plain words" in dom


def test_checks_catch_a_page_request_and_a_console_error(tmp_path: Path) -> None:
    """The detectors themselves work: a page that loads an image and logs an error."""
    page = tmp_path / "bad.html"
    page.write_text(
        '<!DOCTYPE html><img src="http://alsmeta.invalid/x.png">'
        '<script>console.error("deliberate")</script>',
        encoding="utf-8",
    )
    net_log = tmp_path / "net.json"
    proc = _chromium(
        tmp_path,
        "--enable-logging=stderr",
        "--v=0",
        f"--log-net-log={net_log}",
        f"--screenshot={tmp_path / 'bad.png'}",
        page.as_uri(),
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "http://alsmeta.invalid/x.png" in _page_requests(net_log)
    assert any(":CONSOLE" in line and "deliberate" in line for line in proc.stderr.splitlines())
    shutil.rmtree(tmp_path / "profile", ignore_errors=True)
