"""A Flask (WSGI) app: ``forno examples.flask_hello:app``."""

from __future__ import annotations

from flask import Flask, jsonify, request

app = Flask(__name__)


@app.get("/")
def index() -> str:
    return "Hello from Flask on forno\n"


@app.post("/echo")
def echo() -> dict[str, object]:
    return {"received": len(request.get_data()), "type": request.content_type}


@app.get("/user/<name>")
def user(name: str) -> object:
    return jsonify(name=name, page=request.args.get("page", "1"))
