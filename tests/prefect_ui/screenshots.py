"""Screenshots of Prefect's UI for docs/deployment.md: a run's graph and its work items as task
runs in named states (awaiting sign-off), and a run's savings artifact.

``.venv/bin/python tests/prefect_ui/screenshots.py docs/images`` starts a Prefect server with
its UI, runs the four robots against it (tests/prefect_ui/robots_run.py) and photographs the
pages with headless Chromium (Debian's, or Playwright's own).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[2])]

from prefect_stack import PrefectServer  # noqa: E402

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", "--disable-quic"]


def _post(server: PrefectServer, path: str, body: dict) -> list[dict]:
    response = httpx.post(f"{server.api_url}{path}", json=body, timeout=30)
    response.raise_for_status()
    return response.json()


def shoot(out: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    from casework.ops.browser_location import configured_or_system_browser

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        server = PrefectServer(Path(tmp), ui=True).start()
        try:
            server.run_robots()
            runs = _post(server, "/flow_runs/filter", {"limit": 200})
            # A run whose items ended differently: some done, some awaiting a caseworker.
            run = next((r for r in runs if r["name"].startswith("routing-items-")
                        and r["state"]["name"] != "Completed"),
                       next(r for r in runs if r["state"]["name"] != "Completed"))
            artifact = _post(server, "/artifacts/filter", {
                "artifacts": {"flow_run_id": {"any_": [run["id"]]}}, "limit": 1})[0]
            run_page = f"{server.url}/runs/flow-run/{run['id']}"
            shots = [(run_page, "prefect-run-items.png", "Task Runs"),  # the graph and items
                     (f"{server.url}/artifacts/artifact/{artifact['id']}",
                      "prefect-savings-artifact.png", None)]
            saved = []
            with sync_playwright() as p:
                found = configured_or_system_browser()  # None: Playwright's own download
                browser = p.chromium.launch(executable_path=str(found[0]) if found else None,
                                            args=ARGS)
                page = browser.new_page(viewport={"width": 1440, "height": 800})
                for url, name, tab in shots:
                    page.goto(url, wait_until="networkidle")
                    if tab:
                        page.get_by_text(tab, exact=True).first.click()
                    time.sleep(2.5)  # the graph lays itself out after the data arrives
                    target = out / name
                    page.screenshot(path=str(target), type="png")
                    saved.append(target)
                browser.close()
            return saved
        finally:
            server.stop()


if __name__ == "__main__":
    for path in shoot(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/images")):
        print(f"{path}: {path.stat().st_size // 1024} KB")
