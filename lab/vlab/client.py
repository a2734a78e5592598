#!/usr/bin/env python3
"""lab/vlab/client.py: the lab's client (run inside the client namespace by
lab/vlab/lab.py). Owns: one HTTP GET, and N WebSocket clients exchanging
messages through the VIP, counting drops and reconnects. Prints one JSON
object on stdout. Stdlib only.
Usage: client.py http HOST [--port 80]
       client.py ws HOST [--port 80] [--clients N] [--duration S] [--interval S]
                 [--sources A.B.C.D-E] [--timeout S] [--ramp S] [--until-stdin]"""
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
SLOW = 1.0      # a reply later than this is counted as slow (not a drop)


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


async def ws_connect(host, port, src=None):
    local = (src, 0) if src else None
    r, w = await asyncio.wait_for(asyncio.open_connection(host, port, local_addr=local), TIMEOUT)
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


async def ws_exchange(r, w, text, timeout=TIMEOUT):
    """Send text, return the echo's server name ("rs1: text" -> "rs1")."""
    w.write(wsproto.encode(wsproto.TEXT, text.encode(), mask=True))
    await w.drain()
    op, data = await asyncio.wait_for(wsproto.read_message(r, w, expect_masked=False), timeout)
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


class Run:
    """Counters of one ws run, shared by its clients (one event loop)."""

    def __init__(self, clients):
        self.clients = clients
        self.st = collections.Counter()
        self.servers = collections.Counter()
        self.per_server = {}          # name -> {"messages", "first", "last"} (epoch s)
        self.at_end = collections.Counter()
        self.connected = collections.Counter()   # live connections by server
        self.errors = []
        self.latency_max = 0.0
        self.first_done = 0
        self.all_first = asyncio.Event()

    def note(self, kind, exc):
        self.st[kind] += 1
        if kind == "drops" and isinstance(exc, (ConnectionResetError, ConnectionAbortedError)):
            self.st["resets"] += 1
        if len(self.errors) < 10:
            self.errors.append(f"{kind}: {type(exc).__name__}: {exc}")

    def answered(self, name, latency):
        now = time.time()
        self.servers[name] += 1
        s = self.per_server.setdefault(name, {"messages": 0, "first": now, "last": now})
        s["messages"] += 1
        s["last"] = now
        self.st["messages_ok"] += 1
        self.latency_max = max(self.latency_max, latency)
        if latency > SLOW:
            self.st["slow"] += 1

    def first_attempt_done(self):
        self.first_done += 1
        if self.first_done == self.clients:
            self.all_first.set()

    def result(self, duration):
        keys = ("messages_ok", "drops", "resets", "reconnects", "connect_failures",
                "switched", "slow", "connected_at_end")
        out = {k: self.st[k] for k in keys}
        out.update(clients=self.clients, duration=round(duration, 2),
                   latency_max=round(self.latency_max, 3), servers=dict(self.servers),
                   per_server=self.per_server, connected=+self.connected,
                   at_end=dict(self.at_end), errors=self.errors)
        return out


async def ws_many(host, port, clients, duration, interval, sources=(), timeout=TIMEOUT,
                  ramp=0.0, until_stdin=False):
    """`clients` WebSocket clients, client i from sources[i % len] (if any),
    started over `ramp` seconds, each exchanging a message every `interval`
    and reconnecting after a drop. A drop is a connection lost (reset,
    closed, bad echo) or a reply later than `timeout`; a reply later than
    SLOW is only counted as slow. A connection whose echo comes from another
    server than its first is `switched`. Runs `duration` seconds, or with
    `until_stdin` until a line (or EOF) on stdin, at most `duration`; prints
    "READY {...}" once every client has had its first attempt."""
    run = Run(clients)
    t0 = time.monotonic()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    if until_stdin:
        loop.add_reader(sys.stdin.fileno(), stop.set)
    loop.call_later(duration, stop.set)

    async def one(i):
        await asyncio.sleep(ramp * i / clients)
        src = sources[i % len(sources)] if sources else None
        seq, conn, first, server = 0, None, True, None
        while not stop.is_set():
            if conn is None:
                if not first:
                    run.st["reconnects"] += 1
                try:
                    conn = await ws_connect(host, port, src)
                except Exception as e:  # noqa: BLE001 - every failure counts
                    run.note("connect_failures", e)
                    if first:
                        first = False
                        run.first_attempt_done()
                    await asyncio.sleep(0.2)
                    continue
                server = None
            seq += 1
            t = time.monotonic()
            try:
                name = await ws_exchange(*conn, f"c{i}-{seq}", timeout)
            except Exception as e:  # noqa: BLE001
                run.note("drops", e)
                conn[1].close()
                conn = None
                if server is not None:
                    run.connected[server] -= 1
                continue
            finally:
                if first:
                    first = False
                    run.first_attempt_done()
            if server is None:
                run.connected[name] += 1
            elif name != server:
                run.st["switched"] += 1
                run.connected[server] -= 1
                run.connected[name] += 1
            server = name
            run.answered(name, time.monotonic() - t)
            try:
                await asyncio.wait_for(stop.wait(), interval)
            except asyncio.TimeoutError:
                pass
        if conn:
            run.st["connected_at_end"] += 1
            run.at_end[server] += 1
            await ws_close(*conn)

    async def ready():
        await run.all_first.wait()
        print("READY " + json.dumps(run.result(time.monotonic() - t0)), flush=True)

    announcer = asyncio.ensure_future(ready())
    await asyncio.gather(*(one(i) for i in range(clients)))
    announcer.cancel()
    return run.result(time.monotonic() - t0)


def addresses(spec):
    """"A.B.C.D-E" (a last-octet range), "a,b", or a mix -> list of addresses."""
    out = []
    for item in filter(None, spec.split(",")):
        first, dash, last = item.partition("-")
        if not dash:
            out.append(first)
            continue
        base, _, lo = first.rpartition(".")
        out += [f"{base}.{n}" for n in range(int(lo), int(last) + 1)]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["http", "ws", "ws-once"])
    ap.add_argument("host")
    ap.add_argument("--port", type=int, default=80)
    ap.add_argument("--clients", type=int, default=10)
    ap.add_argument("--duration", type=float, default=10.0)
    ap.add_argument("--interval", type=float, default=0.5)
    ap.add_argument("--sources", default="", help='client i binds to address i mod n: '
                    '"192.168.1.11-50" or "a,b,c"')
    ap.add_argument("--timeout", type=float, default=TIMEOUT,
                    help="a reply later than this is a drop")
    ap.add_argument("--ramp", type=float, default=0.0, help="start the clients over S seconds")
    ap.add_argument("--until-stdin", action="store_true",
                    help="stop at a line (or EOF) on stdin, at the latest after --duration")
    a = ap.parse_args()
    try:
        if a.mode == "http":
            out = asyncio.run(http_get(a.host, a.port))
        elif a.mode == "ws-once":
            out = asyncio.run(ws_once(a.host, a.port))
        else:
            out = asyncio.run(ws_many(a.host, a.port, a.clients, a.duration, a.interval,
                                      addresses(a.sources), a.timeout, a.ramp, a.until_stdin))
    except Exception as e:  # noqa: BLE001 - report, don't trace
        why = str(e) or {"TimeoutError": f"no answer within {TIMEOUT:.0f} s"}.get(
            type(e).__name__, "")
        out = {"ok": False, "error": f"{type(e).__name__}: {why}"}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
