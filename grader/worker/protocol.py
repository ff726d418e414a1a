"""Length-prefixed JSON frames between the judge and the worker.

Both sides use it. A frame is ``<decimal length>\\n<JSON bytes>``. The judge reads
frames from untrusted code, so every read is bounded and the payload is parsed as
plain JSON (no pickle, no eval); anything else is a ``ProtocolError``.
"""

import json
from typing import Any

# A message: what ``json`` reads and writes (requests and replies are objects; a frame
# from the worker may hold anything, so the judge checks the type of what it takes).
Message = Any

MAX_FRAME = 8 * 1024 * 1024
_MAX_HEADER = 12


class ProtocolError(Exception):
    """The other side sent something that is not a well-formed frame."""


def encode(message: Message) -> bytes:
    body = json.dumps(message, allow_nan=True, separators=(",", ":")).encode()
    return b"%d\n" % len(body) + body


def decode(body: bytes) -> Message:
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise ProtocolError(f"not plain JSON: {exc}") from None


class FrameReader:
    """Incremental frame parser: feed bytes, take complete messages."""

    def __init__(self, limit: int = MAX_FRAME) -> None:
        self.limit = limit
        self.buffer = bytearray()

    def feed(self, data: bytes) -> None:
        self.buffer += data

    def take(self) -> Message | None:
        """Return the next complete message, or None when more bytes are needed."""
        newline = self.buffer.find(b"\n", 0, _MAX_HEADER + 1)
        if newline < 0:
            if len(self.buffer) > _MAX_HEADER:
                raise ProtocolError("frame header is not a length")
            return None
        header = bytes(self.buffer[:newline])
        if not header.isdigit():
            raise ProtocolError("frame header is not a length")
        size = int(header)
        if size > self.limit:
            raise ProtocolError(f"frame of {size} bytes is over the {self.limit} byte limit")
        end = newline + 1 + size
        if len(self.buffer) < end:
            return None
        body = bytes(self.buffer[newline + 1 : end])
        del self.buffer[:end]
        return decode(body)
