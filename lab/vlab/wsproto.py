"""lab/vlab/wsproto.py: the WebSocket bits (RFC 6455) shared by the lab's echo
server and clients: the handshake key/accept and frame encode/decode.
Stdlib only; asyncio streams."""
import asyncio
import base64
import hashlib
import os
import struct

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
TEXT, BINARY, CLOSE, PING, PONG, CONT = 0x1, 0x2, 0x8, 0x9, 0xA, 0x0
MAX_PAYLOAD = 1 << 20


def new_key() -> str:
    return base64.b64encode(os.urandom(16)).decode()


def accept_for(key: str) -> str:
    return base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()


def encode(opcode: int, payload: bytes, mask: bool, fin: bool = True) -> bytes:
    head = bytearray([(0x80 if fin else 0) | opcode])
    n = len(payload)
    mbit = 0x80 if mask else 0
    if n < 126:
        head.append(mbit | n)
    elif n < 1 << 16:
        head.append(mbit | 126)
        head += struct.pack("!H", n)
    else:
        head.append(mbit | 127)
        head += struct.pack("!Q", n)
    if mask:
        key = os.urandom(4)
        head += key
        payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return bytes(head) + payload


async def read_frame(reader: asyncio.StreamReader, expect_masked: bool):
    """One frame -> (fin, opcode, payload). Raises ValueError on protocol
    errors, asyncio.IncompleteReadError on EOF."""
    b0, b1 = await reader.readexactly(2)
    if b0 & 0x70:
        raise ValueError("reserved bits set")
    masked = bool(b1 & 0x80)
    if masked != expect_masked:
        raise ValueError("frame masking is wrong for this direction")
    n = b1 & 0x7F
    if n == 126:
        (n,) = struct.unpack("!H", await reader.readexactly(2))
    elif n == 127:
        (n,) = struct.unpack("!Q", await reader.readexactly(8))
    if n > MAX_PAYLOAD:
        raise ValueError("frame too large")
    opcode = b0 & 0x0F
    if opcode >= 0x8 and (n > 125 or not b0 & 0x80):
        raise ValueError("bad control frame")
    key = await reader.readexactly(4) if masked else None
    data = await reader.readexactly(n)
    if key:
        data = bytes(b ^ key[i % 4] for i, b in enumerate(data))
    return bool(b0 & 0x80), opcode, data


async def read_message(reader, writer, expect_masked: bool):
    """A whole data message -> (opcode, payload), answering pings on the way;
    (CLOSE, payload) when the peer closes."""
    parts, first = [], None
    while True:
        fin, op, data = await read_frame(reader, expect_masked)
        if op == PING:
            writer.write(encode(PONG, data, mask=not expect_masked))
            continue
        if op == PONG:
            continue
        if op == CLOSE:
            return CLOSE, data
        if op == CONT:
            if first is None:
                raise ValueError("continuation without a start")
        elif first is not None:
            raise ValueError("new message inside a fragmented one")
        else:
            first = op
        parts.append(data)
        if fin:
            return first, b"".join(parts)
