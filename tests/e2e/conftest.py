from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.server import RunningServer, serve


@pytest.fixture(scope="module")
def basic_server() -> Iterator[RunningServer]:
    with serve("basic_asgi:app", "--header-timeout", "5") as server:
        yield server
