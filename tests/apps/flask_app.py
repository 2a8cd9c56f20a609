"""A Flask app for forno's WSGI end-to-end tests."""

from __future__ import annotations

import atexit
import hashlib
import os
import resource
import tempfile
from collections.abc import Iterator
from typing import Any

from flask import Flask, Response, abort, jsonify, request, send_file, session, stream_with_context

app = Flask(__name__)
app.secret_key = "forno-test-secret"
app.config["MAX_CONTENT_LENGTH"] = None

_fd, DOWNLOAD_PATH = tempfile.mkstemp(prefix="forno-flask-", suffix=".bin")
with os.fdopen(_fd, "wb") as _out:
    _out.write(bytes(range(256)) * 4096)  # 1 MiB
atexit.register(os.unlink, DOWNLOAD_PATH)


def peak_rss() -> int:
    """This process's peak resident set, in bytes (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


@app.get("/")
def index() -> str:
    return "flask index"


@app.get("/user/<name>")
def user(name: str) -> dict[str, Any]:
    return {"user": name}


@app.get("/query")
def query() -> dict[str, Any]:
    return {"args": request.args.to_dict(flat=False)}


@app.post("/form")
def form() -> dict[str, Any]:
    return {"form": request.form.to_dict(flat=False)}


@app.post("/json")
def echo_json() -> Response:
    data = request.get_json()
    return jsonify({"received": data, "keys": sorted(data)})


@app.get("/rss")
def rss() -> dict[str, Any]:
    return {"peak_rss": peak_rss()}


@app.post("/upload")
def upload() -> dict[str, Any]:
    uploaded = request.files["file"]
    digest = hashlib.sha256()
    size = 0
    while block := uploaded.stream.read(1 << 16):
        digest.update(block)
        size += len(block)
    return {
        "name": uploaded.filename,
        "field": request.form.get("note"),
        "size": size,
        "sha256": digest.hexdigest(),
        "peak_rss": peak_rss(),
    }


@app.get("/cookies")
def cookies() -> Response:
    response = jsonify({"seen": request.cookies.to_dict()})
    response.set_cookie("first", "1")
    response.set_cookie("second", "2", httponly=True)
    response.set_cookie("third", "3", path="/cookies")
    return response


@app.get("/session/set")
def session_set() -> dict[str, Any]:
    session["value"] = request.args["value"]
    return {"stored": session["value"]}


@app.get("/session/get")
def session_get() -> dict[str, Any]:
    return {"value": session.get("value")}


@app.get("/stream")
def stream() -> Response:
    count = int(request.args.get("count", "10"))

    @stream_with_context
    def generate() -> Iterator[str]:
        for index in range(count):
            yield f"line {index} of {request.path}\n"

    return Response(generate(), mimetype="text/plain")


@app.get("/download")
def download() -> Response:
    return send_file(DOWNLOAD_PATH, mimetype="application/octet-stream")


@app.get("/boom")
def boom() -> str:
    raise RuntimeError("flask view failed")


@app.get("/teapot")
def teapot() -> str:
    abort(418)


@app.errorhandler(418)
def handle_teapot(error: Exception) -> tuple[dict[str, Any], int]:
    return {"error": "teapot"}, 418


@app.errorhandler(404)
def handle_404(error: Exception) -> tuple[dict[str, Any], int]:
    return {"error": "not here", "path": request.path}, 404


@app.errorhandler(500)
def handle_500(error: Exception) -> tuple[dict[str, Any], int]:
    return {"error": "custom 500"}, 500
