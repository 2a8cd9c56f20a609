"""``wsgi.input`` between a feeding side (the loop) and a reading thread."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from forno.errors import ClientDisconnected
from forno.wsgi.input import InputStream

TIMEOUT = 5.0


class Hooks:
    def __init__(self) -> None:
        self.waits = 0
        self.drained = 0
        self.waited = threading.Event()
        self.drained_event = threading.Event()

    def on_wait(self) -> None:
        self.waits += 1
        self.waited.set()

    def on_drained(self) -> None:
        self.drained += 1
        self.drained_event.set()


def make(limit: int = 1024, complete: bool = False) -> tuple[InputStream, Hooks]:
    hooks = Hooks()
    stream = InputStream(
        limit, complete=complete, on_wait=hooks.on_wait, on_drained=hooks.on_drained
    )
    return stream, hooks


def in_thread(func: Callable[[], object]) -> tuple[threading.Thread, list[object]]:
    out: list[object] = []

    def target() -> None:
        try:
            out.append(func())
        except BaseException as exc:
            out.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, out


def test_empty_body_reads_nothing_and_never_waits() -> None:
    stream, hooks = make(complete=True)
    assert stream.read() == b""
    assert stream.read(10) == b""
    assert stream.readline() == b""
    assert stream.readlines() == []
    assert list(stream) == []
    assert hooks.waits == 0


def test_buffered_body_read_variants() -> None:
    stream, _ = make()
    stream.feed(b"line one\nline two\nthree")
    stream.end()
    assert stream.read(0) == b""
    assert stream.readline(4) == b"line"
    assert stream.readline() == b" one\n"
    assert stream.read(5) == b"line "
    assert stream.readline() == b"two\n"
    assert stream.read() == b"three"
    assert stream.read() == b""


def test_readlines_hint_and_iteration() -> None:
    stream, _ = make()
    stream.feed(b"a\nbb\nccc\ndddd")
    stream.end()
    assert stream.readlines(3) == [b"a\n", b"bb\n"]
    assert list(stream) == [b"ccc\n", b"dddd"]


def test_read_blocks_until_size_or_end_and_asks_once() -> None:
    stream, hooks = make()
    thread, out = in_thread(lambda: stream.read(6))
    assert hooks.waited.wait(TIMEOUT)
    stream.feed(b"abc")
    stream.feed(b"defgh")
    thread.join(TIMEOUT)
    assert out == [b"abcdef"]
    thread, out = in_thread(stream.read)
    stream.feed(b"ij")
    stream.end()
    thread.join(TIMEOUT)
    assert out == [b"ghij"]
    assert hooks.waits == 1


def test_readline_waits_for_the_newline() -> None:
    stream, _ = make()
    stream.feed(b"par")
    thread, out = in_thread(stream.readline)
    stream.feed(b"tial")
    stream.feed(b" line\nnext")
    thread.join(TIMEOUT)
    assert out == [b"partial line\n"]


def test_buffer_limit_pauses_and_draining_resumes() -> None:
    stream, hooks = make(limit=10)
    assert stream.feed(b"x" * 8) is False
    assert stream.feed(b"x" * 8) is True  # over the limit: the loop pauses reading
    assert stream.feed(b"x" * 8) is False  # already paused
    assert stream.read(10) == b"x" * 10
    assert hooks.drained == 0  # 14 left, over half the limit
    assert stream.read(10) == b"x" * 10
    assert hooks.drained == 1
    assert stream.feed(b"y" * 20) is True


def test_large_read_does_not_deadlock_on_a_small_buffer() -> None:
    # read(n) with n far above the limit: the reader takes what is buffered and resumes the loop.
    stream, hooks = make(limit=100)
    total = 10_000

    def feeder() -> None:
        sent = 0
        while sent < total:
            if stream.feed(b"z" * 50):
                assert hooks.drained_event.wait(TIMEOUT)
                hooks.drained_event.clear()
            sent += 50
        stream.end()

    thread, out = in_thread(lambda: stream.read(total))
    feeder_thread = threading.Thread(target=feeder, daemon=True)
    feeder_thread.start()
    thread.join(TIMEOUT)
    feeder_thread.join(TIMEOUT)
    assert out == [b"z" * total]


def test_disconnect_returns_what_arrived_then_raises() -> None:
    stream, _ = make()
    stream.feed(b"partial")
    stream.abort()
    assert stream.read(100) == b"partial"
    with pytest.raises(ClientDisconnected):
        stream.read(1)
    assert isinstance(ClientDisconnected(), OSError)


def test_disconnect_wakes_a_waiting_reader() -> None:
    stream, hooks = make()
    thread, out = in_thread(stream.read)
    assert hooks.waited.wait(TIMEOUT)
    stream.abort()
    thread.join(TIMEOUT)
    assert len(out) == 1
    assert isinstance(out[0], ClientDisconnected)


def test_feed_after_end_is_ignored() -> None:
    stream, _ = make()
    stream.feed(b"a")
    stream.end()
    stream.feed(b"b")
    stream.abort()  # after the end: not broken
    assert stream.read() == b"a"


def test_body_that_ends_while_paused_resumes_when_read() -> None:
    # The last bytes and the end can arrive in one socket read that also fills the buffer.
    stream, hooks = make(limit=10)
    assert stream.feed(b"x" * 30) is True
    stream.end()
    assert stream.read() == b"x" * 30
    assert hooks.drained == 1


def test_abort_reports_a_pause_to_release() -> None:
    stream, _ = make(limit=10)
    assert stream.feed(b"x" * 30) is True
    assert stream.paused
    assert stream.abort() is True
    assert not stream.paused
    assert stream.abort() is False
