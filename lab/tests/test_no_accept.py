"""lab/tests/test_no_accept.py: `no_accept` on the master (what `vrrp_strict`
implies below priority 255): its VIP takes what the box balances and
nothing else, through vigil's nftables filter, which sits before IPVS's
hooks in the real kernel (keepalived's own filter drops the balanced
traffic too).

A live commit (`vigil reload`) adds `no_accept` to lb1's instance while 30
WebSocket clients exchange messages through the VIP: not one connection
is lost, new HTTP requests through IPVS are answered by both real servers,
a ping of the VIP gets no answer while lb1's own address still answers.
The commit back makes the VIP answer pings again. lb2 is left as it is (no
VRRP setting changes)."""
import time

from conftest import ensure_ready, report
from vlab import flashconf, net

CLIENTS = 30
SOURCES = (0, CLIENTS)  # one address each (earlier tests pinned them: any server will do)
INTERVAL = 1.0
REPLY_TIMEOUT = 30.0
HOLD = 5.0


def with_no_accept(text):
    """The canonical config with `no_accept` in the seed's VI_1."""
    head = "vrrp_instance VI_1 {\n"
    assert head in text, text
    return text.replace(head, head + "    no_accept\n", 1)


def http_servers(n=4):
    out = []
    for _ in range(n):
        r = net.client("http", net.VIP)
        out.append(r.get("server") if r.get("ok") else f"error: {r.get('error')}")
    return out


def test_no_accept_passes_balanced_traffic_and_drops_the_rest(lab):
    ensure_ready(lab, "lb1")
    ensure_ready(lab, "lb2")
    lb1 = lab["lb1"]
    assert lab.wait_vip("lb1", 30) is not None, lab.vip_holders()
    ok, said = net.ping("client", net.VIP, count=2)
    assert ok, f"before: the VIP must answer a ping: {said}"
    saved = flashconf.stored(lb1)
    c = net.BackgroundClients(net.VIP, "--clients", str(CLIENTS), "--interval", str(INTERVAL),
                              "--duration", "600", "--ramp", "3",
                              "--timeout", str(REPLY_TIMEOUT),
                              "--sources", net.client_sources(*SOURCES))
    try:
        ready = c.ready(60)
        assert ready is not None and ready["messages_ok"] >= CLIENTS \
            and not ready["connect_failures"], f"clients not ready: {ready or c.finish(10)}"
        t0 = time.monotonic()
        out = flashconf.commit(lb1, with_no_accept(saved), apply="reload")
        took = time.monotonic() - t0
        assert "no_accept filter applied: 1 VIPs" in out, out
        time.sleep(HOLD)
        after = time.time()
        time.sleep(HOLD)
        r = c.finish()
        lost = {k: r.get(k) for k in ("drops", "resets", "reconnects", "connect_failures",
                                      "switched") if r.get(k) != 0}
        assert not lost and r.get("connected_at_end") == CLIENTS, f"lost: {lost}; {r}"
        silent = [s for s, v in r["per_server"].items() if v["last"] < after]
        assert not silent, f"no answer since the commit from {silent}: {r}"
        servers = http_servers()
        assert all(s in ("rs1", "rs2") for s in servers), \
            f"HTTP through IPVS behind the filter: {servers}"
        ok, said = net.ping("client", net.VIP, count=2)
        assert not ok, f"the VIP answered a ping through the filter: {said}"
        ok, said = net.ping("client", "192.168.1.100", count=2)
        assert ok, f"lb1's own address must still answer: {said}"
        report(f"no_accept: added live on the master in {took:.1f} s (import + reload); "
               f"{CLIENTS} WebSocket clients kept, {r.get('messages_ok')} messages; "
               f"(servers {sorted(r['per_server'])}); HTTP through IPVS answered; "
               f"VIP ping dropped, lb1's own address answers")
    finally:
        c.kill()
        flashconf.commit(lb1, saved, apply="reload")
    ok, said = net.ping("client", net.VIP, count=2)
    assert ok, f"after the commit back the VIP must answer a ping again: {said}"
