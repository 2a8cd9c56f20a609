"""``--reload``: workers restart when a watched file changes; a broken edit keeps the supervisor."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.support.processes import supervised, wait_until

APP_SOURCE = """
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    body = {body!r}
    await send({{"type": "http.response.start", "status": 200, "headers": []}})
    await send({{"type": "http.response.body", "body": body}})
"""


def write_app(path: Path, body: bytes) -> None:
    path.write_text(APP_SOURCE.format(body=body))


def test_reload_restarts_after_a_change_and_survives_a_broken_edit(tmp_path: Path) -> None:
    module = tmp_path / "reload_app.py"
    write_app(module, b"first")
    (tmp_path / "notes.txt").write_text("not watched")
    with supervised("reload_app:app", "--reload", "--app-dir", str(tmp_path)) as sup:
        sup.wait_workers(1, others=1)
        sup.wait_log("reload: watching")
        url = sup.server.url + "/"
        with httpx.Client(timeout=10) as client:
            assert client.get(url).text == "first"

            def answers(text: str) -> bool:
                try:
                    return httpx.get(url, timeout=5).text == text
                except httpx.HTTPError:
                    return False

            write_app(module, b"second version")
            wait_until(lambda: answers("second version"), 30, "the edited app to answer")
            sup.wait_log("reload: reload_app.py changed")

            # An edit that breaks the import: the supervisor stays up, keeps the running
            # worker, and tries again on the next change.
            module.write_text("raise RuntimeError('half-typed edit')\n")
            sup.wait_log("waiting for a file change to retry", timeout=30)
            assert sup.server.process.poll() is None
            assert answers("second version")
            assert "half-typed edit" in sup.server.log()

            write_app(module, b"third, fixed")
            wait_until(lambda: answers("third, fixed"), 30, "the fixed app to answer")
        assert sup.server.log().count("reload: restarting 1 worker(s)") == 3
        assert "notes.txt" not in sup.server.log()
