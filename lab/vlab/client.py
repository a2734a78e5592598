#!/usr/bin/env python3
"""lab/vlab/client.py: the lab's client (run inside the client namespace by
lab/vlab/lab.py). Owns: one HTTP GET, and N WebSocket clients exchanging
messages through the VIP, counting drops and reconnects. Prints one JSON
object on stdout. Stdlib only.
Usage: client.py http HOST [--port 80]
       client.py ws HOST [--port 80] [--clients N] [--duration S] [--interval S]"""
import argparse
import asyncio
import collections
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wsproto  # noqa: E402

TIMEOUT = 3.0


async def http_get(host, port):
    r, w = await asyncio.wait_for(asyncio.open_connection(host, port), TIMEOUT)
    try:
        w.write(f"GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        data = await asyncio.wait_for(r.read(), TIMEOUT)
    finally:
        w.close()
    head, _, body = data.partition(b"\r\n\r\n")
    status = head.split(b"\r\n")[0].decode()
    return {"ok": " 200 " in status, "status": status, "server": body.decode().strip()}


async def ws_connect(host, port):
    r, w = await asyncio.wait_for(asyncio.open_connection(host, port), TIMEOUT)
    key = wsproto.new_key()
    w.write(
        f"GET /echo HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    head = await asyncio.wait_for(r.readuntil(b"\r\n\r\n"), TIMEOUT)
    lines = head.decode("latin-1").split("\r\n")
    if " 101 " not in lines[0] + " ":
        w.close()
        raise ValueError(f"handshake refused: {lines[0]}")
    hdrs = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:]) if k}
    if hdrs.get("sec-websocket-accept") != wsproto.accept_for(key):
        w.close()
        raise ValueError("wrong Sec-WebSocket-Accept")
    return r, w


async def ws_exchange(r, w, text):
    """Send text, return the echo's server name ("rs1: text" -> "rs1")."""
    w.write(wsproto.encode(wsproto.TEXT, text.encode(), mask=True))
    await w.drain()
    op, data = await asyncio.wait_for(wsproto.read_message(r, w, expect_masked=False), TIMEOUT)
    if op != wsproto.TEXT:
        raise ConnectionError(f"server sent opcode {op} instead of the echo")
    name, sep, echoed = data.decode().partition(": ")
    if not sep or echoed != text:
        raise ValueError(f"bad echo {data[:60]!r}")
    return name


async def ws_close(r, w):
    try:
        w.write(wsproto.encode(wsproto.CLOSE, b"\x03\xe8", mask=True))
        await w.drain()
        await asyncio.wait_for(wsproto.read_message(r, w, expect_masked=False), TIMEOUT)
    except Exception:
        pass
    w.close()


async def ws_once(host, port):
    r, w = await ws_connect(host, port)
    name = await ws_exchange(r, w, "hello")
    await ws_close(r, w)
    return {"ok": True, "server": name}


async def ws_many(host, port, clients, duration, interval):
    st = collections.Counter()
    servers = collections.Counter()
    errors = []
    end = time.monotonic() + duration

    def note(kind, exc):
        st[kind] += 1
        if len(errors) < 10:
            errors.append(f"{kind}: {type(exc).__name__}: {exc}")

    async def one(i):
        seq, conn, first = 0, None, True
        while time.monotonic() < end:
            if conn is None:
                if not first:
                    st["reconnects"] += 1
                first = False
                try:
                    conn = await ws_connect(host, port)
                except Exception as e:  # noqa: BLE001 - every failure counts
                    note("connect_failures", e)
                    await asyncio.sleep(0.2)
                    continue
            seq += 1
            try:
                servers[await ws_exchange(*conn, f"c{i}-{seq}")] += 1
                st["messages_ok"] += 1
            except Exception as e:  # noqa: BLE001
                note("drops", e)
                conn[1].close()
                conn = None
                continue
            await asyncio.sleep(interval)
        if conn:
            st["connected_at_end"] += 1
            await ws_close(*conn)

    await asyncio.gather(*(one(i) for i in range(clients)))
    out = {k: st[k] for k in ("messages_ok", "drops", "reconnects", "connect_failures",
                              "connected_at_end")}
    out.update(clients=clients, duration=duration, servers=dict(servers), errors=errors)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["http", "ws", "ws-once"])
    ap.add_argument("host")
    ap.add_argument("--port", type=int, default=80)
    ap.add_argument("--clients", type=int, default=10)
    ap.add_argument("--duration", type=float, default=10.0)
    ap.add_argument("--interval", type=float, default=0.5)
    a = ap.parse_args()
    try:
        if a.mode == "http":
            out = asyncio.run(http_get(a.host, a.port))
        elif a.mode == "ws-once":
            out = asyncio.run(ws_once(a.host, a.port))
        else:
            out = asyncio.run(ws_many(a.host, a.port, a.clients, a.duration, a.interval))
    except Exception as e:  # noqa: BLE001 - report, don't trace
        why = str(e) or {"TimeoutError": f"no answer within {TIMEOUT:.0f} s"}.get(
            type(e).__name__, "")
        out = {"ok": False, "error": f"{type(e).__name__}: {why}"}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
