"""One WSGI request: the app runs on a pool thread, every socket operation stays on the loop.

Who runs what:
- The loop creates the cycle, feeds ``wsgi.input`` and starts the app on the pool when the body
  has arrived, or when it outgrew the body buffer (a large upload streams to the app), or at
  once if the client waits for ``100 Continue``. A slow client trickling a small body therefore
  holds no thread.
- The app's thread calls the app and iterates its result. Each piece of output hops to the loop
  with one ``call_soon_threadsafe``; the thread only waits when the bytes it posted and the
  client has not taken exceed the write buffer (``channel.drain()``). A list or tuple result is
  sent, with its head, in a single hop.
- Every call into the channel happens on the loop. The last hop (after the iterable's
  ``close()``) completes the response, or answers 500 / aborts after an error, and tells the
  connection the cycle is done.
- When the client goes away or the response completed early (Content-Length reached), output is
  discarded: iteration stops, ``write()`` raises ``ClientDisconnected``, ``close()`` is called.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Awaitable, Iterable
from typing import TYPE_CHECKING, Any

from forno.errors import ClientDisconnected
from forno.http.channel import HTTPChannel, RequestHead
from forno.http.response import InvalidResponse
from forno.typing import Headers
from forno.wsgi.environ import build_environ
from forno.wsgi.file_wrapper import FileWrapper, sendfile_range
from forno.wsgi.input import InputStream
from forno.wsgi.log import ERROR_STREAM
from forno.wsgi.response import ResponseStart

if TYPE_CHECKING:
    from forno.wsgi.runner import WSGIRuntime

logger = logging.getLogger("forno.error")

_OK, _FAIL, _DROP = 0, 1, 2
Head = tuple[int, Headers]


class _HandedOff(Exception):
    """The loop took the rest of the response over (``send_file``)."""


def _as_bytes(data: object) -> bytes:
    if isinstance(data, bytearray | memoryview):
        return bytes(data)
    raise TypeError(f"a WSGI app must produce bytes, not {type(data).__name__}")


class WSGICycle:
    __slots__ = (
        "blocked",
        "channel",
        "flow",
        "gone",
        "head",
        "input",
        "rt",
        "start",
        "submitted",
        "task",
        "turn",
        "unsent",
    )

    def __init__(self, runtime: WSGIRuntime, head: RequestHead, channel: HTTPChannel) -> None:
        self.rt = runtime
        self.head = head
        self.channel = channel
        self.input = InputStream(
            runtime.body_limit,
            complete=not head.has_body,
            on_wait=self.ask_body,
            on_drained=self.body_drained,
        )
        self.turn = False
        self.submitted = False
        # Output is discarded (client gone, response completed or failed); read by the thread.
        self.gone = False
        self.flow = threading.Condition(threading.Lock())
        self.unsent = 0
        self.blocked = False
        self.start: ResponseStart | None = None
        self.task: asyncio.Task[None] | None = None

    # ---- driven by the connection (on the loop) -------------------------------------------------

    def run(self) -> None:
        self.turn = True
        stream = self.input
        if stream.complete or self.head.expect_continue or stream.buffered > self.rt.body_limit:
            self.submit()

    def submit(self) -> None:
        self.submitted = True
        self.rt.pool.submit(self.work)

    def on_body(self, data: bytes) -> None:
        if self.input.feed(data):
            self.channel.pause_reading()
            if self.turn and not self.submitted:
                self.submit()

    def on_body_end(self) -> None:
        self.input.end()
        if self.turn and not self.submitted:
            self.submit()

    def on_response_complete(self) -> None:
        self.stop_output()
        if self.input.abort():
            self.channel.resume_reading()

    def on_eof(self) -> None:
        return None

    def on_disconnect(self) -> None:
        self.stop_output()
        self.input.abort()
        if self.turn and not self.submitted:
            self.submitted = True
            self.channel.cycle_done(self)

    def cancel(self) -> None:
        self.on_disconnect()

    def discarding(self) -> bool:
        """Output goes nowhere any more (read from the app's thread, set on the loop)."""
        return self.gone

    def stop_output(self) -> None:
        with self.flow:
            self.gone = True
            self.flow.notify_all()

    # ---- hops from the thread (on the loop) ---------------------------------------------------

    def post(self, callback: Any, *args: Any) -> bool:
        try:
            self.rt.loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:  # the loop is closed: the server is gone
            self.stop_output()
            return False
        return True

    def ask_body(self) -> None:
        self.post(self.channel.want_body)

    def body_drained(self) -> None:
        self.post(self.resume_body)

    def resume_body(self) -> None:
        # Decided on the loop: a pause that came after the app drained the buffer stands.
        if not self.input.paused:
            self.channel.resume_reading()

    def start_head(self, head: Head, body: bytes, more: bool) -> bool:
        try:
            self.channel.start_response(head[0], head[1], body, more, strict_hop_by_hop=True)
        except InvalidResponse as exc:
            logger.error("invalid response from WSGI app for %s: %s", self.describe(), exc)
            self.stop_output()
            self.channel.send_error(500, "Internal Server Error")
            return False
        return True

    def deliver(self, head: Head | None, data: bytes) -> None:
        """One piece of a streamed body (the head with the first)."""
        if not self.gone:
            channel = self.channel
            if head is None:
                channel.write_body(data, True)
            else:
                self.start_head(head, data, True)
            if not self.gone:
                waiter = channel.drain()
                if waiter is not None and not self.blocked:
                    self.blocked = True
                    asyncio.ensure_future(waiter).add_done_callback(self.unblock)
        with self.flow:
            self.unsent -= len(data)
            self.flow.notify()

    def unblock(self, _: object) -> None:
        with self.flow:
            self.blocked = False
            self.flow.notify()

    def finish(self, head: Head | None, data: bytes, outcome: int) -> None:
        """The last hop: complete the response (or fail it) and release the request."""
        channel = self.channel
        if not self.gone:
            if outcome == _OK:
                if head is None:
                    channel.write_body(data, False)
                else:
                    self.start_head(head, data, False)
            else:
                self.stop_output()
                if outcome == _FAIL and not channel.response_started:
                    channel.send_error(500, "Internal Server Error")
                else:
                    channel.abort()
        channel.cycle_done(self)

    def start_sendfile(
        self,
        head: Head,
        wrapper: FileWrapper,
        offset: int,
        count: int,
        answer: concurrent.futures.Future[bool],
    ) -> None:
        if self.gone or not self.start_head(head, b"", True):
            answer.set_result(False)
            return
        sending = self.channel.send_file(wrapper.filelike, offset, count)
        if sending is None:
            answer.set_result(False)
            return
        answer.set_result(True)
        self.task = self.rt.loop.create_task(self.finish_sendfile(sending, wrapper))

    async def finish_sendfile(self, sending: Awaitable[int], wrapper: FileWrapper) -> None:
        outcome = _DROP
        try:
            await sending
            outcome = _OK
        except OSError as exc:
            logger.debug("client went away during sendfile for %s: %r", self.describe(), exc)
        except Exception as exc:
            logger.error("sendfile failed for %s", self.describe(), exc_info=exc)
            outcome = _FAIL
        finally:
            # close() may run framework code (Django's request_finished): not on the loop.
            try:
                self.rt.pool.submit(lambda: self.close_file(wrapper, outcome))
            except RuntimeError:  # the pool is shut down
                self.close_file(wrapper, outcome, on_loop=True)

    def close_file(self, wrapper: FileWrapper, outcome: int, on_loop: bool = False) -> None:
        try:
            wrapper.close()
        except Exception as exc:
            logger.error("close() failed in WSGI app for %s", self.describe(), exc_info=exc)
        if on_loop:
            self.finish(None, b"", outcome)
        else:
            self.post(self.finish, None, b"", outcome)

    # ---- the app's thread -----------------------------------------------------------------------

    def describe(self) -> str:
        head = self.head
        return f"{head.method} {head.raw_path.decode('latin-1')}"

    def work(self) -> None:
        if self.discarding():
            self.post(self.finish, None, b"", _DROP)
            return
        start = self.start = ResponseStart(self.write)
        rt = self.rt
        environ = build_environ(
            self.head,
            self.input,
            multiprocess=rt.multiprocess,
            file_wrapper=FileWrapper,
            errors=ERROR_STREAM,
        )
        outcome, head, body = _DROP, None, b""
        result: Iterable[bytes] | None = None
        try:
            result = rt.app(environ, start)
            head, body = self.respond(result)
            outcome = _OK
        except _HandedOff:
            return  # the loop closes the file and finishes
        except ClientDisconnected as exc:
            if self.gone:
                logger.debug("client went away during %s: %s", self.describe(), exc)
            else:
                logger.error("exception in WSGI app for %s", self.describe(), exc_info=exc)
                outcome = _FAIL
        except InvalidResponse as exc:
            logger.error("invalid response from WSGI app for %s: %s", self.describe(), exc)
            outcome = _FAIL
        except BaseException as exc:
            logger.error("exception in WSGI app for %s", self.describe(), exc_info=exc)
            outcome = _FAIL
        close = getattr(result, "close", None)
        if close is not None:
            try:
                close()
            except BaseException as exc:
                logger.error("close() failed in WSGI app for %s", self.describe(), exc_info=exc)
                if outcome == _OK:
                    outcome, head, body = _FAIL, None, b""
        self.post(self.finish, head, body, outcome)

    def respond(self, result: Iterable[bytes]) -> tuple[Head | None, bytes]:
        """Send ``result`` up to its last piece, which is returned for the final hop."""
        result_type = type(result)
        if result_type is list or result_type is tuple:
            items: Any = result
            if len(items) == 1 and type(items[0]) is bytes:
                body = items[0]
            else:
                body = b"".join(item if type(item) is bytes else _as_bytes(item) for item in items)
            if self.gone:
                raise ClientDisconnected("the client disconnected")
            return self.unsent_head(), body
        if result_type is FileWrapper:
            wrapper: Any = result
            if self.head.method == "HEAD":
                return self.unsent_head(), b""
            if self.try_sendfile(wrapper):
                raise _HandedOff
        for item in result:
            data = item if type(item) is bytes else _as_bytes(item)
            if self.gone:
                raise ClientDisconnected("the client disconnected")
            if data:
                self.send(data)
        if self.gone:
            raise ClientDisconnected("the client disconnected")
        return self.unsent_head(), b""

    def unsent_head(self) -> Head | None:
        start = self.start
        assert start is not None
        if start.head_sent:
            return None
        head = start.encode()
        start.head_sent = True
        return head

    def send(self, data: bytes) -> None:
        """Post one piece of body (and the head before the first) to the loop; flow control."""
        head = self.unsent_head()
        flow = self.flow
        with flow:
            while not self.gone and (self.blocked or self.unsent > self.rt.write_limit):
                flow.wait()
            if self.gone:
                raise ClientDisconnected("the client disconnected")
            self.unsent += len(data)
        self.post(self.deliver, head, data)

    def write(self, data: bytes) -> None:
        """The legacy ``write()`` callable returned by ``start_response``."""
        if type(data) is not bytes:
            data = _as_bytes(data)
        start = self.start
        if start is None or not start.called:
            raise RuntimeError("write() called before start_response()")
        if data or not start.head_sent:
            self.send(data)

    def try_sendfile(self, wrapper: FileWrapper) -> bool:
        start = self.start
        if start is None or start.head_sent or not start.called:
            return False
        status, headers = start.encode()
        length: int | None = None
        for name, value in headers:
            if name.lower() == b"content-length":
                if not value.strip().isdigit():
                    return False  # the channel refuses it on the normal path
                length = int(value)
        span = sendfile_range(wrapper, length)
        if span is None:
            return False
        offset, count = span
        if length is None:
            headers = [*headers, (b"content-length", b"%d" % count)]
        start.head_sent = True
        answer: concurrent.futures.Future[bool] = concurrent.futures.Future()
        if not self.post(self.start_sendfile, (status, headers), wrapper, offset, count, answer):
            return False
        try:
            return answer.result()
        except concurrent.futures.CancelledError:
            return False
