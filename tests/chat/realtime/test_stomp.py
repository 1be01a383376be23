"""The STOMP 1.2 codec: what ChatKitty's SDK (stompjs) sends, split or batched, and what must be refused."""

import pytest

from chat.realtime.stomp import (
    SERVER_COMMANDS,
    Frame,
    FrameError,
    FrameParser,
    header_line,
    message_frame,
    message_head,
)


def test_a_connect_frame_as_stompjs_sends_it():
    raw = (
        b"CONNECT\nStompX-User:alice\nStompX-User-Agent:ChatKitty-ChatUI/2.106.2\naccept-version:1.2\n"
        b"heart-beat:60000,10000\n\n\x00"
    )
    [frame] = FrameParser(1024).feed(raw)
    assert frame.command == "CONNECT"
    assert frame.headers["StompX-User"] == "alice"
    assert frame.headers["heart-beat"] == "60000,10000"
    assert frame.body == b""


def test_content_length_allows_nul_in_the_body_and_frames_may_be_batched_with_heartbeats():
    body = b'{"body":"a\x00b"}'
    raw = b"\n\nSEND\ndestination:/x\ncontent-length:" + str(len(body)).encode() + b"\n\n" + body + b"\x00\r\n"
    frames = FrameParser(1024).feed(raw + b"ACK\nid:1\n\n\x00")
    assert [f.command for f in frames] == ["SEND", "ACK"]
    assert frames[0].body == body


def test_a_frame_split_across_messages_is_kept_until_complete():
    parser = FrameParser(1024)
    assert parser.feed(b"SUBSCRIBE\nid:sub-1\ndestination:/app") == []
    assert parser.feed(b"lication/user.relay\n\n") == []
    [frame] = parser.feed(b"\x00")
    assert frame.headers == {"id": "sub-1", "destination": "/application/user.relay"}


def test_header_escapes_are_decoded_except_in_connect_and_the_first_repeat_wins():
    [frame] = FrameParser(1024).feed(b"SEND\nname:a\\cb\\nc\\\\d\nname:second\n\n\x00")
    assert frame.headers["name"] == "a:b\nc\\d"
    [connect] = FrameParser(1024).feed(b"CONNECT\nStompX-User:a\\cb\n\n\x00")
    assert connect.headers["StompX-User"] == "a\\cb"


def test_encoding_escapes_headers_and_counts_body_bytes():
    frame = Frame("MESSAGE", {"subscription": "s:1", "note": "a\nb"}, "é".encode())
    assert frame.encode() == b"MESSAGE\nsubscription:s\\c1\nnote:a\\nb\ncontent-length:2\n\n\xc3\xa9\x00"
    assert Frame("CONNECTED", {"version": "1.2"}).encode() == b"CONNECTED\nversion:1.2\n\n\x00"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"HELLO\n\n\x00", "unknown command"),
        (b"SEND\nno-colon\n\n\x00", "malformed header"),
        (b"SEND\nname:bad\\t\n\n\x00", "undefined escape"),
        (b"SEND\ncontent-length:x\n\n\x00", "content-length"),
        (b"SEND\ncontent-length:1\n\nab\x00", "does not end with NUL"),
        (b"SEND\n\n" + b"x" * 2000, "larger than"),
        (b"SEND\ncontent-length:5000\n\n", "larger than"),
        (b"SEND\n" + b"x" * 2000, "larger than"),
    ],
)
def test_malformed_or_oversized_frames_are_refused_with_a_reason(raw, reason):
    with pytest.raises(FrameError, match=reason):
        FrameParser(1024).feed(raw)


@pytest.mark.parametrize("extra", [(), (("sequence", "42"),), (("receipt-id", "r:1\n"),)])
def test_the_fan_out_message_frame_parses_as_the_frame_it_stands_for(extra: tuple[tuple[str, str], ...]) -> None:
    # given a subscription id and a body that need escaping and a NUL
    subscription, destination, body = "sub:1\\x", "/topic/channels/7/messages", b'{"a":"\x00\xc3\xa9"}'

    # when fan-out writes its one-formatting frame
    lines = b"".join(header_line(name, value) for name, value in extra)
    written = message_frame(message_head(subscription, destination), 9, body, lines)

    # then it reads back as the MESSAGE the codec would encode: every header, the body whole
    [frame] = FrameParser(1024, SERVER_COMMANDS).feed(written)
    assert frame.command == "MESSAGE"
    assert frame.headers == {
        "subscription": subscription,
        "destination": destination,
        "content-type": "application/json",
        "message-id": "9",
        "ack": "9",
        **dict(extra),
        "content-length": str(len(body)),
    }
    assert frame.body == body
    assert len(written) == len(
        Frame("MESSAGE", {k: v for k, v in frame.headers.items() if k != "content-length"}, body).encode()
    )
