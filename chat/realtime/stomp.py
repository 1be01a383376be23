"""STOMP 1.2 frames: the codec of the ``/rtm/websocket`` endpoint that ChatKitty's browser SDK speaks.

Incremental: a websocket message may hold several frames (or, from a client that splits large frames, part of
one); bare end-of-lines between frames are heart-beats. Header values are escaped as STOMP 1.2 says, except in
CONNECT and CONNECTED frames. A frame that breaks the grammar or a limit raises ``FrameError`` with a reason the
ERROR frame can carry.
"""

from dataclasses import dataclass, field

CLIENT_COMMANDS = frozenset(
    {"CONNECT", "STOMP", "SEND", "SUBSCRIBE", "UNSUBSCRIBE", "ACK", "NACK", "BEGIN", "COMMIT", "ABORT", "DISCONNECT"}
)
SERVER_COMMANDS = frozenset({"CONNECTED", "MESSAGE", "RECEIPT", "ERROR"})
UNESCAPED_COMMANDS = frozenset({"CONNECT", "STOMP", "CONNECTED"})
_UNESCAPES = {"\\r": "\r", "\\n": "\n", "\\c": ":", "\\\\": "\\"}
_ESCAPES = str.maketrans({"\\": "\\\\", "\r": "\\r", "\n": "\\n", ":": "\\c"})
MAX_HEADERS = 64


class FrameError(ValueError):
    """The bytes are not an acceptable STOMP frame."""


@dataclass(frozen=True)
class Frame:
    """One STOMP frame. Repeated headers keep their first value, as STOMP 1.2 says."""

    command: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def encode(self) -> bytes:
        """The frame on the wire, with ``content-length`` whenever there is a body."""
        headers = dict(self.headers)
        if self.body:
            headers["content-length"] = str(len(self.body))
        escape = self.command not in UNESCAPED_COMMANDS
        lines = [self.command]
        for name, value in headers.items():
            if escape:
                name, value = name.translate(_ESCAPES), value.translate(_ESCAPES)
            lines.append(f"{name}:{value}")
        return ("\n".join(lines) + "\n\n").encode() + self.body + b"\x00"


def message_head(subscription: str, destination: str) -> bytes:
    """The start of every MESSAGE frame on one topic subscription (``message_frame``), escaped once."""
    return (
        f"MESSAGE\nsubscription:{subscription.translate(_ESCAPES)}\ndestination:{destination.translate(_ESCAPES)}\n"
        "content-type:application/json\n"
    ).encode()


def header_line(name: str, value: str) -> bytes:
    """One escaped header line, for ``message_frame``'s ``extra``."""
    return f"{name.translate(_ESCAPES)}:{value.translate(_ESCAPES)}\n".encode()


def message_frame(head: bytes, message_id: int, body: bytes, extra: bytes = b"") -> bytes:
    """A MESSAGE frame on a topic subscription (``head``: ``message_head``), with ``message-id`` and ``ack`` (both the
    message id), ``extra`` header lines (``header_line``) and ``content-length``, in one formatting: fan-out writes
    one per listener of every event."""
    return b"%smessage-id:%d\nack:%d\n%scontent-length:%d\n\n%s\x00" % (
        head,
        message_id,
        message_id,
        extra,
        len(body),
        body,
    )


def _unescape(text: str) -> str:
    if "\\" not in text:
        return text
    out = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\":
            pair = text[index : index + 2]
            if pair not in _UNESCAPES:
                raise FrameError(f"undefined escape sequence {pair!r} in a header")
            out.append(_UNESCAPES[pair])
            index += 2
        else:
            out.append(char)
            index += 1
    return "".join(out)


class FrameParser:
    """Turns received bytes into frames, keeping an incomplete frame for the next call.

    It accepts the commands a client sends unless told otherwise (a test client reads ``SERVER_COMMANDS``).
    """

    def __init__(self, max_frame_bytes: int, commands: frozenset[str] = CLIENT_COMMANDS) -> None:
        self.max_frame_bytes = max_frame_bytes
        self.commands = commands
        self._buffer = b""

    def feed(self, data: bytes) -> list[Frame]:
        """Every complete frame in what has arrived so far; heart-beats are skipped."""
        self._buffer += data
        frames = []
        while True:
            self._buffer = self._buffer.lstrip(b"\r\n")
            if not self._buffer:
                break
            frame = self._next_frame()
            if frame is None:
                break
            frames.append(frame)
        if len(self._buffer) > self.max_frame_bytes:
            raise FrameError(f"frame larger than {self.max_frame_bytes} bytes")
        return frames

    def _next_frame(self) -> Frame | None:
        head_end = self._buffer.find(b"\n\n")
        crlf_end = self._buffer.find(b"\r\n\r\n")
        if crlf_end != -1 and (head_end == -1 or crlf_end < head_end):
            head_end, separator = crlf_end, 4
        else:
            separator = 2
        if head_end == -1:
            if len(self._buffer) > self.max_frame_bytes:
                raise FrameError(f"frame larger than {self.max_frame_bytes} bytes")
            return None
        try:
            head = self._buffer[:head_end].decode()
        except UnicodeDecodeError:
            raise FrameError("frame headers are not UTF-8") from None
        command, headers = self._parse_head(head)
        body_start = head_end + separator
        length = headers.get("content-length")
        if length is not None:
            if not length.isdigit():
                raise FrameError("content-length must be a non-negative integer")
            body_end = body_start + int(length)
            if body_end - body_start > self.max_frame_bytes:
                raise FrameError(f"frame larger than {self.max_frame_bytes} bytes")
            if len(self._buffer) <= body_end:
                return None
            if self._buffer[body_end : body_end + 1] != b"\x00":
                raise FrameError("frame body does not end with NUL after content-length octets")
        else:
            body_end = self._buffer.find(b"\x00", body_start)
            if body_end == -1:
                return None
        body = self._buffer[body_start:body_end]
        self._buffer = self._buffer[body_end + 1 :]
        return Frame(command, headers, body)

    def _parse_head(self, head: str) -> tuple[str, dict[str, str]]:
        lines = head.replace("\r\n", "\n").split("\n")
        command = lines[0]
        if command not in self.commands:
            raise FrameError(f"unknown command {command[:40]!r}")
        if len(lines) - 1 > MAX_HEADERS:
            raise FrameError(f"more than {MAX_HEADERS} headers")
        escaped = command not in UNESCAPED_COMMANDS
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, colon, value = line.partition(":")
            if not colon or not name:
                raise FrameError(f"malformed header line {line[:40]!r}")
            if escaped:
                name, value = _unescape(name), _unescape(value)
            headers.setdefault(name, value)
        return command, headers
