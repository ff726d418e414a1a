"""The frames between judge and worker (``grader.worker.protocol``): what the judge accepts
from untrusted code, byte by byte. No worker, no sandbox, no torch."""

import json
import math

import pytest

from grader.worker.protocol import MAX_FRAME, FrameReader, ProtocolError, decode, encode


def frames(data, limit=MAX_FRAME):
    """Every message a reader takes from ``data`` fed at once."""
    reader = FrameReader(limit)
    reader.feed(data)
    taken = []
    while (message := reader.take()) is not None:
        taken.append(message)
    return taken, reader


def test_a_frame_is_its_length_a_newline_and_compact_json():
    assert encode({"op": "load", "id": 1}) == b'20\n{"op":"load","id":1}'
    assert encode("é") == b'8\n"\\u00e9"'


@pytest.mark.parametrize(
    "message",
    [
        {"ok": True, "value": [1.5, -2, None, "x"], "id": 3},
        {"progress": 0},
        [],
        "",
        0,
        False,
        {"nested": {"a": [[{}]]}},
    ],
)
def test_what_is_encoded_is_taken_back(message):
    taken, reader = frames(encode(message))
    assert taken == [message]
    assert reader.buffer == bytearray()


def test_a_null_frame_is_consumed_and_reads_as_no_message():
    """``take`` answers None both for "need more bytes" and for a frame holding JSON null:
    neither side sends null (requests and replies are objects), and the judge treats a
    null from the worker as nothing sent, so it still waits for the real reply."""
    reader = FrameReader()
    reader.feed(encode(None) + encode({"id": 1}))
    assert reader.take() is None
    assert reader.take() == {"id": 1}


def test_non_finite_numbers_travel_as_json_extensions():
    """A student's loss can be nan or inf: it must reach the judge as that number."""
    [message], _ = frames(encode({"loss": [math.nan, math.inf, -math.inf]}))
    nan, inf, minus_inf = message["loss"]
    assert math.isnan(nan) and inf == math.inf and minus_inf == -math.inf


def test_frames_split_anywhere_are_reassembled_in_order():
    data = b"".join(encode({"id": i, "text": "x" * i}) for i in range(12))
    reader = FrameReader()
    taken = []
    for byte in data:  # one byte at a time: headers and bodies cut at every position
        reader.feed(bytes([byte]))
        while (message := reader.take()) is not None:
            taken.append(message)
    assert [m["id"] for m in taken] == list(range(12))
    assert reader.buffer == bytearray()


def test_an_incomplete_frame_waits_for_more_bytes():
    data = encode({"id": 1})
    taken, reader = frames(data[:-1])
    assert taken == []
    reader.feed(data[-1:])
    assert reader.take() == {"id": 1}
    assert reader.take() is None


def test_a_frame_at_the_limit_is_taken_one_byte_over_is_refused_before_it_arrives():
    at_limit = encode("x" * 98)  # 100 bytes of JSON: two quotes and 98 x
    assert frames(at_limit, limit=100)[0] == ["x" * 98]
    over = encode("x" * 99)
    reader = FrameReader(limit=100)
    reader.feed(over[:5])  # the header alone: the judge does not wait for 101 bytes
    with pytest.raises(ProtocolError, match="101 bytes is over the 100 byte limit"):
        reader.take()


def test_the_default_limit_is_max_frame():
    reader = FrameReader()
    reader.feed(b"%d\n" % (MAX_FRAME + 1))
    with pytest.raises(ProtocolError, match="over the"):
        reader.take()


@pytest.mark.parametrize(
    "data",
    [
        b"12a\n{}",  # a header that is not a number
        b"-5\n{}",  # nor a negative one
        b" 2\n{}",  # nor one with blanks
        b"\n{}",  # nor an empty one
        b"1234567890123",  # no newline within the longest header: not a length
        b"+2\n{}",
    ],
)
def test_a_header_that_is_not_a_length_is_refused(data):
    with pytest.raises(ProtocolError, match="not a length"):
        frames(data)


@pytest.mark.parametrize(
    "body",
    [
        b"{",
        b"nope",
        b"{'single': 'quotes'}",
        b"\xff\xfe",
        b"[1,]",
        b"[" * 100_000 + b"]" * 100_000,  # nesting deep enough to exhaust the recursion limit
    ],
)
def test_a_body_that_is_not_plain_json_is_refused(body):
    with pytest.raises(ProtocolError, match="not plain JSON"):
        frames(b"%d\n" % len(body) + body)


def test_decode_never_runs_or_unpickles_anything():
    """Plain JSON only: what would be an object hook elsewhere stays a dict."""
    body = json.dumps({"__class__": "os.system", "py/object": "builtins.eval"}).encode()
    assert decode(body) == {"__class__": "os.system", "py/object": "builtins.eval"}
    with pytest.raises(ProtocolError):
        decode(b"\x80\x04\x95")  # a pickle's first bytes


def test_after_garbage_the_stream_stays_refused():
    """Once a frame is refused the stream is out of step: the reader does not guess where
    the next frame starts (the judge kills the worker), even when a good one follows."""
    reader = FrameReader()
    reader.feed(b"xx\n" + encode({"id": 1}))
    for _ in range(2):
        with pytest.raises(ProtocolError):
            reader.take()
