#!/usr/bin/env python3
"""lab/vlab/echo_server.py: a real server of the lab (run inside rs1/rs2's
namespace). Owns: HTTP on :80 answering "<name>\n", and a WebSocket echo on
the same port answering every message with "<name>: <message>"; with
--no-upgrade, a plain HTTP server that ignores the Upgrade header (answers
200, never 101: TCP and HTTP checks pass, a WebSocket check fails). Stdlib only.
Usage: echo_server.py NAME [--port 80] [--no-upgrade]"""
import argparse
import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wsproto  # noqa: E402

NAME = "rs?"
UPGRADE = True


async def handle(reader, writer):
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
        lines = head.decode("latin-1").split("\r\n")
        method, path, _ = (lines[0].split(" ") + ["", ""])[:3]
        hdrs = {}
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                hdrs[k.strip().lower()] = v.strip()
        if UPGRADE and "websocket" in hdrs.get("upgrade", "").lower():
            await websocket(reader, writer, hdrs)
            return
        body = f"{NAME}\n".encode()
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
            + f"Content-Length: {len(body)}\r\nX-Server: {NAME}\r\n".encode()
            + b"Connection: close\r\n\r\n"
            + (body if method != "HEAD" else b"")
        )
        await writer.drain()
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.TimeoutError,
            ConnectionError, ValueError):
        pass
    finally:
        writer.close()


async def websocket(reader, writer, hdrs):
    key = hdrs.get("sec-websocket-key", "")
    if hdrs.get("sec-websocket-version") != "13" or not key:
        writer.write(b"HTTP/1.1 400 Bad Request\r\nSec-WebSocket-Version: 13\r\n"
                     b"Content-Length: 0\r\nConnection: close\r\n\r\n")
        return
    writer.write(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\n"
        + f"Sec-WebSocket-Accept: {wsproto.accept_for(key)}\r\nX-Server: {NAME}\r\n\r\n".encode()
    )
    await writer.drain()
    while True:
        op, data = await wsproto.read_message(reader, writer, expect_masked=True)
        if op == wsproto.CLOSE:
            writer.write(wsproto.encode(wsproto.CLOSE, data[:2], mask=False))
            await writer.drain()
            return
        reply = NAME.encode() + b": " + data
        writer.write(wsproto.encode(op, reply, mask=False))
        await writer.drain()


async def main():
    global NAME, UPGRADE
    ap = argparse.ArgumentParser()
    ap.add_argument("name")
    ap.add_argument("--port", type=int, default=80)
    ap.add_argument("--bind", default="0.0.0.0")
    ap.add_argument("--no-upgrade", action="store_true")
    a = ap.parse_args()
    NAME, UPGRADE = a.name, not a.no_upgrade
    server = await asyncio.start_server(handle, a.bind, a.port, reuse_address=True, backlog=1024)
    print(f"echo_server {NAME} listening on {a.bind}:{a.port}"
          + ("" if UPGRADE else " (no WebSocket upgrade)"), flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
