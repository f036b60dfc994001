"""AWS event-stream framing (``application/vnd.amazon.eventstream``), both ways.

A message is ``total length (u32) | headers length (u32) | CRC32 of those 8 bytes | headers | payload |
CRC32 of everything before``, big-endian, zlib CRC32. The decoder is ours rather than botocore's
``EventStreamBuffer`` because the adapter must tell a truncated last frame from a clean end, and it works on one
growing bytearray instead of re-slicing the whole buffer per message; the tests check both against each other.
"""

from __future__ import annotations

import struct
import zlib

_PRELUDE = struct.Struct(">III")
_U32 = struct.Struct(">I")
_PRELUDE_LENGTH = 12
_MIN_LENGTH = 16
MAX_MESSAGE_LENGTH = 16 * 1024 * 1024  # the format's own limit on a message
# Fixed sizes of the non-string header value types (0/1 are booleans without a value).
_FIXED_SIZES = {0: 0, 1: 0, 2: 1, 3: 2, 4: 4, 5: 8, 8: 8, 9: 16}
_STRING = 7


class EventStreamError(ValueError):
    """The bytes are not a valid event stream (bad CRC, impossible lengths, bad headers)."""


def encode_message(headers: dict[str, str], payload: bytes) -> bytes:
    """One message with string headers (type 7), as AWS sends them."""
    header_bytes = bytearray()
    for name, value in headers.items():
        raw_name, raw_value = name.encode(), value.encode()
        header_bytes += bytes([len(raw_name)]) + raw_name + bytes([_STRING]) + len(raw_value).to_bytes(2, "big")
        header_bytes += raw_value
    total = _MIN_LENGTH + len(header_bytes) + len(payload)
    prelude = struct.pack(">II", total, len(header_bytes))
    message = prelude + _U32.pack(zlib.crc32(prelude)) + bytes(header_bytes) + payload
    return message + _U32.pack(zlib.crc32(message))


def _parse_headers(data: memoryview) -> dict[str, str]:
    headers: dict[str, str] = {}
    pos, end = 0, len(data)
    while pos < end:
        name_length = data[pos]
        name = bytes(data[pos + 1 : pos + 1 + name_length]).decode("utf-8", "replace")
        pos += 1 + name_length
        if pos >= end:
            raise EventStreamError("truncated header")
        value_type = data[pos]
        pos += 1
        if value_type in (6, _STRING):
            if pos + 2 > end:
                raise EventStreamError("truncated header")
            length = int.from_bytes(data[pos : pos + 2], "big")
            raw = bytes(data[pos + 2 : pos + 2 + length])
            pos += 2 + length
            if value_type == _STRING:
                headers[name] = raw.decode("utf-8", "replace")
        elif value_type in _FIXED_SIZES:
            pos += _FIXED_SIZES[value_type]
        else:
            raise EventStreamError(f"unknown header type {value_type}")
        if pos > end:
            raise EventStreamError("truncated header")
    return headers


class EventStreamDecoder:
    """Feed bytes as they arrive; get back the whole messages they complete, CRCs verified."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    @property
    def pending(self) -> int:
        """Bytes of an unfinished message: non-zero at the end of a body means a truncated frame."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[tuple[dict[str, str], bytes]]:
        buffer = self._buffer
        buffer += data
        messages: list[tuple[dict[str, str], bytes]] = []
        pos, size = 0, len(buffer)
        view = memoryview(buffer)
        try:
            while size - pos >= _PRELUDE_LENGTH:
                total, headers_length, prelude_crc = _PRELUDE.unpack_from(buffer, pos)
                if zlib.crc32(view[pos : pos + 8]) != prelude_crc:
                    raise EventStreamError("prelude CRC mismatch")
                if total < _MIN_LENGTH or total > MAX_MESSAGE_LENGTH or headers_length > total - _MIN_LENGTH:
                    raise EventStreamError("impossible message length")
                if size - pos < total:
                    break
                end = pos + total
                if zlib.crc32(view[pos : end - 4]) != _U32.unpack_from(buffer, end - 4)[0]:
                    raise EventStreamError("message CRC mismatch")
                headers_end = pos + _PRELUDE_LENGTH + headers_length
                headers = _parse_headers(view[pos + _PRELUDE_LENGTH : headers_end])
                messages.append((headers, bytes(view[headers_end : end - 4])))
                pos = end
        finally:
            view.release()
        if pos:
            del buffer[:pos]
        return messages
