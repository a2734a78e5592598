"""lab/tests/test_wsproto.py: the lab's own WebSocket server and client agree
with RFC 6455 (no VM needed): the handshake's accept value, the three
length encodings, fragmented messages, ping/pong, close."""
import asyncio
import importlib.util
import os

from vlab import client, wsproto

HERE = os.path.dirname(os.path.abspath(__file__))


def load_server():
    path = os.path.join(HERE, "..", "vlab", "echo_server.py")
    spec = importlib.util.spec_from_file_location("echo_server", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.NAME = "rsT"
    return mod


def test_accept_matches_rfc6455_example():
    assert wsproto.accept_for("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def test_echo_server_and_client():
    server_mod = load_server()

    async def scenario():
        server = await asyncio.start_server(server_mod.handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            assert (await client.http_get("127.0.0.1", port))["server"] == "rsT"
            r, w = await client.ws_connect("127.0.0.1", port)
            for size in (0, 125, 126, 65535, 65536, 70000):
                text = "x" * size
                assert await client.ws_exchange(r, w, text) == "rsT"
            # A message in three fragments with a ping in between.
            w.write(wsproto.encode(wsproto.TEXT, b"ab", mask=True, fin=False))
            w.write(wsproto.encode(wsproto.PING, b"p", mask=True))
            w.write(wsproto.encode(wsproto.CONT, b"cd", mask=True, fin=False))
            w.write(wsproto.encode(wsproto.CONT, b"ef", mask=True))
            fin, op, data = await wsproto.read_frame(r, expect_masked=False)
            assert (op, data) == (wsproto.PONG, b"p")
            op, data = await wsproto.read_message(r, w, expect_masked=False)
            assert (op, data) == (wsproto.TEXT, b"rsT: abcdef")
            w.write(wsproto.encode(wsproto.CLOSE, b"\x03\xe8", mask=True))
            op, data = await wsproto.read_message(r, w, expect_masked=False)
            assert (op, data) == (wsproto.CLOSE, b"\x03\xe8")
            w.close()
            many = await client.ws_many("127.0.0.1", port, clients=10, duration=1, interval=0.1)
            assert many["drops"] == 0 and many["messages_ok"] >= 10, many
    asyncio.run(scenario())
