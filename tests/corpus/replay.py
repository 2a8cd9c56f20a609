"""Pure helpers for the raw HTTP/1.1 request corpus: load cases, split, send, read, compare.

Nothing here starts a server; ``test_corpus.py`` and the fuzzer bring their own. Responses are
parsed with h11 as a strict reference client; every socket operation is bounded by a deadline.
"""

from __future__ import annotations

import json
import random
import socket
import time
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h11

CASES_DIR = Path(__file__).resolve().parent / "cases"

#: Sent on the same connection after the expected responses, to prove it is still usable and
#: that nothing of the case is left in the server's buffer.
PROBE_PATH = "/__probe"
PROBE_REQUEST = b"GET " + PROBE_PATH.encode() + b" HTTP/1.1\r\nHost: corpus.test\r\n\r\n"
#: Sent on a fresh connection after each case: the server is alive and has dispatched
#: everything it was going to dispatch from the case.
BARRIER_PATH = "/__barrier"
BARRIER_REQUEST = b"GET " + BARRIER_PATH.encode() + b" HTTP/1.1\r\nHost: corpus.test\r\n\r\n"
INTERNAL_PATHS = frozenset({PROBE_PATH, BARRIER_PATH})

DEFAULT_TIMEOUT = 5.0

_OUTCOME_KEYS = frozenset(
    {
        "responses",
        "status_any_of",
        "closed",
        "app_paths",
        "app_paths_any_of",
        "app_bodies",
        "app_json",
    }
)
_CASE_KEYS = _OUTCOME_KEYS | {
    "description",
    "reference",
    "methods",
    "half_close",
    "alternative",
}


class CaseError(ValueError):
    """A case file is malformed."""


# --------------------------------------------------------------------------------------------
# Cases


@dataclass(frozen=True)
class Outcome:
    """One acceptable result of replaying a case."""

    responses: tuple[int, ...]
    #: Allowed statuses for the last response (overrides ``responses[-1]``).
    status_any_of: tuple[int, ...] | None = None
    #: Whether the server closes the connection after the last response; None: not checked.
    closed: bool | None = None
    #: Exactly the paths that reached the app, in order (from the app's seen log).
    app_paths: tuple[str, ...] | None = None
    #: Like ``app_paths`` with a choice, e.g. ``[[], ["/x"]]`` when a server may dispatch a
    #: request to the app before finding its body malformed (streaming) or not (buffering).
    app_paths_any_of: tuple[tuple[str, ...], ...] | None = None
    #: The request bodies the app read, one per 200 response carrying the app's JSON.
    app_bodies: tuple[str, ...] | None = None
    #: Subset match on the app's JSON description, one table per 200 response.
    app_json: tuple[Mapping[str, Any], ...] | None = None

    def describe(self) -> str:
        statuses: list[object] = list(self.responses)
        if self.status_any_of is not None and statuses:
            statuses[-1] = list(self.status_any_of)
        parts = [f"responses={statuses}", f"closed={self.closed}"]
        if self.app_paths is not None:
            parts.append(f"app_paths={list(self.app_paths)}")
        if self.app_paths_any_of is not None:
            parts.append(f"app_paths one of {[list(p) for p in self.app_paths_any_of]}")
        if self.app_bodies is not None:
            parts.append(f"app_bodies={list(self.app_bodies)}")
        if self.app_json is not None:
            parts.append(f"app_json={[dict(j) for j in self.app_json]}")
        return ", ".join(parts)


@dataclass(frozen=True)
class Case:
    name: str
    data: bytes
    description: str
    reference: str
    #: Request method per expected response, for body framing of HEAD responses.
    methods: tuple[str, ...]
    #: Shut down the client's write side after sending (for truncated requests).
    half_close: bool
    #: The first outcome is the preferred one; the others are what the RFC also allows.
    outcomes: tuple[Outcome, ...]

    @property
    def preferred(self) -> Outcome:
        return self.outcomes[0]


def _str_tuple(value: Any, key: str, name: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise CaseError(f"{name}: {key} must be a list of strings")
    return tuple(value)


def _int_tuple(value: Any, key: str, name: str) -> tuple[int, ...]:
    if not isinstance(value, list) or not all(
        isinstance(v, int) and 100 <= v <= 599 for v in value
    ):
        raise CaseError(f"{name}: {key} must be a list of status codes")
    return tuple(value)


def _outcome(table: Mapping[str, Any], name: str, *, primary: bool) -> Outcome:
    unknown = set(table) - (_CASE_KEYS if primary else _OUTCOME_KEYS)
    if unknown:
        raise CaseError(f"{name}: unknown keys {sorted(unknown)}")
    if "responses" not in table:
        raise CaseError(f"{name}: 'responses' is required")
    responses = _int_tuple(table["responses"], "responses", name)
    any_of = table.get("status_any_of")
    status_any_of = None if any_of is None else _int_tuple(any_of, "status_any_of", name)
    if status_any_of is not None and not responses:
        raise CaseError(f"{name}: status_any_of needs at least one response")
    closed = table.get("closed")
    if closed is not None and not isinstance(closed, bool):
        raise CaseError(f"{name}: closed must be a boolean")
    paths_any_of = table.get("app_paths_any_of")
    if paths_any_of is not None and not isinstance(paths_any_of, list):
        raise CaseError(f"{name}: app_paths_any_of must be an array of arrays")
    app_json = table.get("app_json")
    if app_json is not None and (
        not isinstance(app_json, list) or not all(isinstance(j, dict) for j in app_json)
    ):
        raise CaseError(f"{name}: app_json must be an array of tables")
    return Outcome(
        responses=responses,
        status_any_of=status_any_of,
        closed=closed,
        app_paths=None
        if "app_paths" not in table
        else _str_tuple(table["app_paths"], "app_paths", name),
        app_paths_any_of=None
        if paths_any_of is None
        else tuple(_str_tuple(p, "app_paths_any_of", name) for p in paths_any_of),
        app_bodies=None
        if "app_bodies" not in table
        else _str_tuple(table["app_bodies"], "app_bodies", name),
        app_json=None if app_json is None else tuple(app_json),
    )


def load_case(http_path: Path) -> Case:
    name = http_path.stem
    toml_path = http_path.with_suffix(".toml")
    if not toml_path.exists():
        raise CaseError(f"{name}: missing {toml_path.name}")
    try:
        table = tomllib.loads(toml_path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise CaseError(f"{name}: {exc}") from exc
    data = http_path.read_bytes()
    if not data:
        raise CaseError(f"{name}: empty request file")
    for key in ("description", "reference"):
        if not isinstance(table.get(key), str) or not table[key].strip():
            raise CaseError(f"{name}: '{key}' (non-empty string) is required")
    half_close = table.get("half_close", False)
    if not isinstance(half_close, bool):
        raise CaseError(f"{name}: half_close must be a boolean")
    outcomes = [_outcome(table, name, primary=True)]
    alternatives = table.get("alternative", [])
    if not isinstance(alternatives, list):
        raise CaseError(f"{name}: use [[alternative]] tables")
    outcomes += [_outcome(alt, name, primary=False) for alt in alternatives]
    if half_close and any(o.closed is False for o in outcomes):
        raise CaseError(f"{name}: a half-closed connection cannot stay open")
    methods = _str_tuple(table.get("methods", []), "methods", name)
    return Case(
        name=name,
        data=data,
        description=table["description"],
        reference=table["reference"],
        methods=methods,
        half_close=half_close,
        outcomes=tuple(outcomes),
    )


def load_cases(directory: Path = CASES_DIR) -> list[Case]:
    http_files = sorted(directory.glob("*.http"))
    orphans = {p.stem for p in directory.glob("*.toml")} - {p.stem for p in http_files}
    if orphans:
        raise CaseError(f"expectations without a request: {sorted(orphans)}")
    return [load_case(path) for path in http_files]


# --------------------------------------------------------------------------------------------
# Splitting


def split_whole(data: bytes) -> list[bytes]:
    return [data]


def split_lines(data: bytes) -> list[bytes]:
    """One piece per line, each ending just after its LF (bodies split on LF too)."""
    pieces = data.split(b"\n")
    chunks = [piece + b"\n" for piece in pieces[:-1]]
    if pieces[-1]:
        chunks.append(pieces[-1])
    return chunks


def split_bytes(data: bytes) -> list[bytes]:
    return [data[i : i + 1] for i in range(len(data))]


def split_random(data: bytes, seed: int | str) -> list[bytes]:
    """Reproducible random pieces, 1 byte up to about a third of the request each."""
    rng = random.Random(seed)
    chunks: list[bytes] = []
    position = 0
    largest = max(1, len(data) // 3)
    while position < len(data):
        size = rng.randint(1, largest)
        chunks.append(data[position : position + size])
        position += size
    return chunks


Splitter = Callable[[bytes], list[bytes]]


def splitter(mode: str, name: str = "") -> Splitter:
    """``whole``, ``lines``, ``bytes`` or ``random<seed>`` (seeded by case name and seed)."""
    if mode == "whole":
        return split_whole
    if mode == "lines":
        return split_lines
    if mode == "bytes":
        return split_bytes
    if mode.startswith("random"):
        seed = f"{name}:{mode}"
        return lambda data: split_random(data, seed)
    raise ValueError(f"unknown split mode {mode!r}")


# --------------------------------------------------------------------------------------------
# Talking to the server


class ExchangeError(Exception):
    """The server's bytes were not valid HTTP/1.1 responses."""


class ExchangeTimeout(Exception):
    """The deadline passed while waiting for the server."""


@dataclass
class Response:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    http_version: bytes
    informational: list[int] = field(default_factory=list)

    def app_json(self) -> dict[str, Any] | None:
        """The app's description of the request, if this response carries one."""
        if self.status != 200:
            return None
        try:
            value = json.loads(self.body)
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    @property
    def is_probe(self) -> bool:
        seen = self.app_json()
        return seen is not None and seen.get("path") == PROBE_PATH


@dataclass
class Exchange:
    """What happened on one connection."""

    responses: list[Response] = field(default_factory=list)
    #: True: the server closed (EOF or reset); False: the probe was answered on the same
    #: connection or the server kept it open past the deadline; None: not determined.
    closed: bool | None = None
    reset: bool = False
    send_error: str | None = None
    error: str | None = None
    elapsed: float = 0.0

    @property
    def statuses(self) -> list[int]:
        return [r.status for r in self.responses]

    @property
    def informational(self) -> list[int]:
        return [s for r in self.responses for s in r.informational]

    def summary(self) -> str:
        parts = [f"responses={self.statuses}", f"closed={self.closed}"]
        if self.informational:
            parts.append(f"informational={self.informational}")
        if self.reset:
            parts.append("reset=True")
        if self.send_error:
            parts.append(f"send_error={self.send_error!r}")
        if self.error:
            parts.append(f"error={self.error!r}")
        return ", ".join(parts)


class ResponseReader:
    """Reads successive responses from a socket with h11 as a strict client.

    h11 is told about a request (GET, or HEAD where the caller says so) only when bytes for a
    new response arrive, so a clean close between responses is not an error.
    """

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self.sock = sock
        self.deadline = deadline
        self.conn: h11.Connection | None = None
        self.eof = False
        self.reset = False
        #: The last response was HTTP/1.0 with "Connection: keep-alive" and a Content-Length.
        self.http10_keep_alive = False

    def _recv(self) -> bytes:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise ExchangeTimeout
        self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(65536)
        except TimeoutError:
            raise ExchangeTimeout from None
        except (ConnectionResetError, ConnectionAbortedError):
            self.reset = True
            data = b""
        if not data:
            self.eof = True
        return data

    def next_response(self, method: str = "GET") -> Response | None:
        """The next response, or None if the server closed cleanly before starting one."""
        conn = self.conn
        buffered = conn.trailing_data[0] if conn is not None else b""
        if conn is not None and conn.their_state is not h11.DONE and self.http10_keep_alive:
            # h11 never keeps HTTP/1.0 connections alive; the server may (RFC 9112 C.2.2):
            # carry on with a fresh h11 state machine and the bytes already buffered.
            conn = self.conn = None
        if conn is not None and conn.their_state is not h11.DONE:
            # The previous response ended the connection (Connection: close, HTTP/1.0
            # without keep-alive or a close-delimited body): nothing may follow it.
            extra = buffered
            while not extra and not self.eof:
                extra = self._recv()
            if extra:
                raise ExchangeError(
                    f"bytes after a response that closes the connection: {extra[:80]!r}"
                )
            return None
        fresh = b""
        while not buffered and not fresh:
            if self.eof:
                return None
            fresh = self._recv()
        try:
            if conn is None:
                conn = self.conn = h11.Connection(h11.CLIENT)
                fresh = buffered + fresh
            else:
                conn.start_next_cycle()
            conn.send(h11.Request(method=method, target="/", headers=[("Host", "corpus.test")]))
            conn.send(h11.EndOfMessage())
            if fresh:
                conn.receive_data(fresh)
            return self._read_one(conn)
        except h11.RemoteProtocolError as exc:
            raise ExchangeError(f"malformed response: {exc}") from None

    def _read_one(self, conn: h11.Connection) -> Response:
        informational: list[int] = []
        response: h11.Response | None = None
        body = bytearray()
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                if self.eof:
                    raise ExchangeError("connection closed in the middle of a response")
                conn.receive_data(self._recv())
            elif isinstance(event, h11.InformationalResponse):
                informational.append(event.status_code)
            elif isinstance(event, h11.Response):
                response = event
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                assert response is not None
                fields = {name: value.lower() for name, value in response.headers}
                self.http10_keep_alive = (
                    response.http_version == b"1.0"
                    and b"keep-alive" in fields.get(b"connection", b"")
                    and b"content-length" in fields
                    and not self.eof
                )
                return Response(
                    status=response.status_code,
                    headers=list(response.headers),
                    body=bytes(body),
                    http_version=response.http_version,
                    informational=informational,
                )
            else:
                raise ExchangeError(f"unexpected h11 event {event!r}")


def _send_all(sock: socket.socket, chunks: Sequence[bytes], deadline: float) -> str | None:
    """Send each chunk with its own send call; stop quietly if the server hung up."""
    for chunk in chunks:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return "timed out sending"
        sock.settimeout(remaining)
        try:
            sock.sendall(chunk)
        except TimeoutError:
            return "timed out sending"
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError) as exc:
            return type(exc).__name__
    return None


def connect(host: str, port: int, timeout: float = DEFAULT_TIMEOUT) -> socket.socket:
    sock = socket.create_connection((host, port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def exchange(
    host: str,
    port: int,
    chunks: Sequence[bytes],
    *,
    expected_responses: int | None = None,
    until_close: bool = True,
    methods: Sequence[str] = (),
    half_close: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
) -> Exchange:
    """Send ``chunks`` on a new connection and read what comes back, all within ``timeout``.

    With ``until_close`` the responses are read until the server closes (every extra response
    is recorded). Otherwise, after ``expected_responses`` responses a probe request is sent on
    the same connection: its answer shows the connection stayed open and in sync, and any
    response that arrives before it is recorded as an extra one.
    """
    start = time.monotonic()
    deadline = start + timeout
    result = Exchange()
    sock = connect(host, port, timeout)
    try:
        result.send_error = _send_all(sock, chunks, deadline)
        if half_close and result.send_error is None:
            try:
                sock.shutdown(socket.SHUT_WR)
            except OSError as exc:
                result.send_error = f"shutdown: {exc}"
        reader = ResponseReader(sock, deadline)
        try:
            probing = False
            while True:
                if (
                    not until_close
                    and not probing
                    and expected_responses is not None
                    and len(result.responses) >= expected_responses
                ):
                    probing = True
                    if _send_all(sock, [PROBE_REQUEST], deadline) is not None:
                        until_close = True  # the server is gone: just collect the EOF
                index = len(result.responses)
                method = methods[index] if index < len(methods) else "GET"
                response = reader.next_response(method)
                if response is None:
                    result.closed = True
                    break
                if probing and not until_close and response.is_probe:
                    result.closed = False
                    break
                result.responses.append(response)
        except ExchangeTimeout:
            if until_close:
                result.closed = False
            result.error = f"timed out after {timeout:.1f}s" + (
                " waiting for the server to close" if until_close else ""
            )
        except ExchangeError as exc:
            result.error = str(exc)
            result.closed = reader.eof or None
        result.reset = reader.reset
    finally:
        sock.close()
        result.elapsed = time.monotonic() - start
    return result


def simple_get(host: str, port: int, request: bytes, timeout: float = DEFAULT_TIMEOUT) -> Response:
    """Send one request on a fresh connection and return its response (or raise)."""
    deadline = time.monotonic() + timeout
    with connect(host, port, timeout) as sock:
        error = _send_all(sock, [request], deadline)
        try:
            response = ResponseReader(sock, deadline).next_response()
        except ExchangeTimeout:
            raise ExchangeError(f"no answer to {request!r} within {timeout:.1f}s") from None
        if response is None:
            raise ExchangeError(f"connection closed without answering {request!r} ({error})")
        return response


# --------------------------------------------------------------------------------------------
# Comparing


def _subset_mismatch(expected: Mapping[str, Any], actual: Mapping[str, Any] | None) -> bool:
    if actual is None:
        return True
    return any(actual.get(key) != value for key, value in expected.items())


def mismatches(outcome: Outcome, result: Exchange, app_paths: Sequence[str]) -> list[str]:
    """Why ``result`` is not ``outcome`` (empty list: it is)."""
    problems: list[str] = []
    if result.error:
        problems.append(result.error)
    statuses = result.statuses
    if len(statuses) != len(outcome.responses):
        problems.append(f"{len(statuses)} responses, expected {len(outcome.responses)}")
    else:
        for index, (got, want) in enumerate(zip(statuses, outcome.responses, strict=True)):
            last = index == len(statuses) - 1
            allowed = outcome.status_any_of if last and outcome.status_any_of else (want,)
            if got not in allowed:
                problems.append(f"response {index + 1}: status {got}, expected {list(allowed)}")
    if outcome.closed is not None and result.closed is not outcome.closed:
        problems.append(f"closed={result.closed}, expected {outcome.closed}")
    if outcome.app_paths is not None and tuple(app_paths) != outcome.app_paths:
        problems.append(f"app saw {list(app_paths)}, expected {list(outcome.app_paths)}")
    if outcome.app_paths_any_of is not None and tuple(app_paths) not in outcome.app_paths_any_of:
        choices = [list(p) for p in outcome.app_paths_any_of]
        problems.append(f"app saw {list(app_paths)}, expected one of {choices}")
    seen = [r.app_json() for r in result.responses if r.status == 200]
    if outcome.app_bodies is not None:
        bodies = [None if s is None else s.get("body") for s in seen]
        if bodies != list(outcome.app_bodies):
            problems.append(f"app bodies {bodies}, expected {list(outcome.app_bodies)}")
    if outcome.app_json is not None and (
        len(seen) != len(outcome.app_json)
        or any(_subset_mismatch(w, g) for w, g in zip(outcome.app_json, seen, strict=False))
    ):
        problems.append(
            f"app JSON {seen}, expected to contain {[dict(j) for j in outcome.app_json]}"
        )
    return problems


def judge(
    case: Case, result: Exchange, app_paths: Sequence[str], *, strict: bool = False
) -> list[str] | None:
    """None if ``result`` matches an acceptable outcome, else the preferred outcome's problems.

    ``strict`` accepts only the preferred outcome (forno's chosen behaviour where the RFC
    leaves a choice).
    """
    candidates = case.outcomes[:1] if strict else case.outcomes
    for outcome in candidates:
        if not mismatches(outcome, result, app_paths):
            return None
    return mismatches(case.preferred, result, app_paths)


def read_seen(path: Path, offset: int) -> tuple[list[dict[str, Any]], int]:
    """Entries the apps appended to their seen log since ``offset``, and the new offset."""
    with path.open("rb") as log:
        log.seek(offset)
        data = log.read()
    complete = data[: data.rfind(b"\n") + 1]
    entries = [json.loads(line) for line in complete.splitlines() if line.strip()]
    return entries, offset + len(complete)


def show_bytes(data: bytes, limit: int = 600) -> str:
    text = repr(data)
    return text if len(text) <= limit else text[:limit] + f"... ({len(data)} bytes)"
