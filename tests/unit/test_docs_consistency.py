"""Numbers the docs repeat must agree with the code and with each other."""

from __future__ import annotations

import re
from pathlib import Path

from forno.config import SETTINGS

ROOT = Path(__file__).parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

# "**517 of 517 cases, 0 FAILED** (503 OK, 11 NON-STRICT, 3 INFORMATIONAL)", in any line wrapping.
AUTOBAHN = re.compile(
    r"\*\*(\d+) of (\d+) cases, (\d+) FAILED\*\* "
    r"\((\d+) OK, (\d+) NON-STRICT, (\d+) INFORMATIONAL[^)]*\)"
)
AUTOBAHN_FILES = ["README.md", "docs/websockets.md", "conformance/README.md"]
NUMBER = re.compile(r"(?<![\w.])\d{1,3}(?:,\d{3})+(?![\w,])|(?<![\w.,])\d+(?![\w.,]\d)")


def flat(path: Path) -> str:
    return " ".join(path.read_text().split())


def test_max_in_flight_default_in_docs_is_the_config_default() -> None:
    default = SETTINGS["max_in_flight"].default
    seen = []
    for path in DOCS:
        for line in path.read_text().splitlines():
            for mention in re.finditer(r"max[-_]in[-_]flight", line, re.IGNORECASE):
                number = NUMBER.search(line, mention.end())
                if number is None:
                    continue
                seen.append(path.name)
                written = int(number.group().replace(",", ""))
                assert written == default, f"{path.name}: {line.strip()!r} says {written}"
    # The check must see the places that state the default, or it proves nothing.
    assert {"wsgi.md", "http.md", "settings.md"} <= set(seen)


def test_autobahn_summary_is_the_same_everywhere() -> None:
    found = {name: AUTOBAHN.findall(flat(ROOT / name)) for name in AUTOBAHN_FILES}
    for name, summaries in found.items():
        assert summaries, f"{name} has no Autobahn summary line"
    distinct = {summary for summaries in found.values() for summary in summaries}
    assert len(distinct) == 1, found
    reported, planned, failed, ok, non_strict, informational = map(int, distinct.pop())
    assert reported == planned
    assert failed == 0
    assert ok + non_strict + informational == reported


def test_autobahn_summary_matches_the_reference_table() -> None:
    # The forno table in conformance/README.md is the run the summary quotes: its "all" row.
    text = (ROOT / "conformance" / "README.md").read_text()
    forno = text[text.index("**forno**") :]
    table = forno[forno.index("```") + 3 :]
    table = table[: table.index("```")]
    all_row = next(line.split() for line in table.splitlines() if line.startswith("all "))
    ok, non_strict, informational, _unimpl, failed = map(int, all_row[1:6])
    reported, planned = map(int, all_row[-2:])
    summary = AUTOBAHN.search(flat(ROOT / "conformance" / "README.md"))
    assert summary is not None
    assert tuple(map(int, summary.groups())) == (
        reported,
        planned,
        failed,
        ok,
        non_strict,
        informational,
    )
