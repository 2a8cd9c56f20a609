"""RFC 9110 grammar checks shared by the request and response sides."""

from __future__ import annotations

import re

# token = 1*tchar (RFC 9110 §5.6.2)
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# field-value may hold VCHAR, obs-text, SP and HTAB; every other control byte is refused.
_BAD_VALUE_BYTE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")


def is_token(value: bytes) -> bool:
    return _TOKEN.fullmatch(value) is not None


def is_field_value(value: bytes) -> bool:
    return _BAD_VALUE_BYTE.search(value) is None


def comma_tokens(value: bytes) -> list[bytes]:
    """The lower-cased, trimmed elements of a comma-separated list field; empties dropped."""
    return [item.strip(b" \t").lower() for item in value.split(b",") if item.strip(b" \t")]
