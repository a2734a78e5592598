"""lab/tests/test_metrics.py: lb1's Prometheus endpoint
(`global_defs { metrics { listen 192.168.1.100:9100 } }`, lb1's management
address on eth0) scraped from the client's namespace on the lab LAN and
parsed by the Prometheus client library's own text parser (Debian's
python3-prometheus-client on the host): valid; lb1 MASTER; the seed's two
real servers up with their connections; a stopped real server shows as down
with failures; the VIP answers nothing on that port. The stored config is
put back afterwards. Reports the scrape's size and time."""
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import ensure_ready, report
from vlab import flashconf, net
from vlab.node import NODE_ADDRS

LB1 = NODE_ADDRS["lb1"][0].split("/")[0]
PORT = 9100
SERVICE = f"TCP {net.VIP}:80"
RS1 = f"{net.HOSTS['rs1']}:80"
RS2 = f"{net.HOSTS['rs2']}:80"
METRICS = f"    metrics {{\n        listen {LB1}:{PORT}\n    }}"

# Run by /usr/bin/python3 inside the client's namespace: one GET, the body
# on stdout, the seconds it took on stderr.
GET = """
import sys, time, urllib.request
t0 = time.monotonic()
body = urllib.request.urlopen(sys.argv[1], timeout=10).read()
sys.stdout.write(body.decode())
sys.stderr.write(f"{time.monotonic() - t0:.3f}")
"""


def scrape(addr=LB1, port=PORT):
    """(text, seconds) of GET /metrics from the client's namespace."""
    r = net.in_ns("client", "/usr/bin/python3", "-c", GET, f"http://{addr}:{port}/metrics",
                  check=False)
    assert r.returncode == 0, f"scrape of {addr}:{port} failed: {r.stderr}"
    return r.stdout, float(r.stderr.strip().splitlines()[-1])


def samples(text):
    """{(name, frozenset(labels)): value}, parsed by prometheus_client;
    every family must carry HELP and TYPE."""
    out = {}
    for f in text_string_to_metric_families(text):
        assert f.type != "unknown" and f.documentation, f"{f.name}: no TYPE or HELP"
        for s in f.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(got, name, **labels):
    hits = [v for (n, ls), v in got.items()
            if n == name and set(labels.items()) <= ls]
    assert len(hits) == 1, f"{name}{labels}: {len(hits)} samples"
    return hits[0]


def wait_for(what, pred, timeout):
    t0 = time.monotonic()
    while True:
        got = samples(scrape()[0])
        if pred(got):
            return got
        assert time.monotonic() - t0 < timeout, f"{what}: not within {timeout} s"
        time.sleep(1)


@pytest.fixture
def lb1(lab):
    ensure_ready(lab, "lb1")
    return lab["lb1"]


def test_lb1_serves_metrics_on_its_management_address(lab, lb1):
    saved = flashconf.stored(lb1)
    try:
        out = flashconf.commit(lb1, flashconf.with_global(saved, METRICS.strip()),
                               apply="reload")
        assert f"metrics endpoint bound again on {LB1}:{PORT}" in out, out
        got = wait_for("lb1 MASTER with both real servers up", lambda g: (
            value(g, "vigil_vrrp_state", vrrp_instance="VI_1") == 2
            and value(g, "vigil_real_server_up", virtual_server=SERVICE, real_server=RS1) == 1
            and value(g, "vigil_real_server_up", virtual_server=SERVICE, real_server=RS2) == 1),
            30)
        text, took = scrape()
        report(f"metrics: lb1 scrape over the LAN {len(text)} bytes, "
               f"{len(text.splitlines())} lines, {took * 1000:.0f} ms")
        assert value(got, "vigil_ipvs_service_in_table", virtual_server=SERVICE) == 1
        assert value(got, "vigil_ipvs_service_destinations", virtual_server=SERVICE) == 2
        assert value(got, "vigil_watchdog_state", state="petting") == 1, \
            lb1.check("vigil status")
        assert value(got, "vigil_task_running", task="metrics") == 1
        assert value(got, "process_resident_memory_bytes") > 1e6
        assert value(got, "vigil_vrrp_adverts_sent_total", vrrp_instance="VI_1") > 0

        # A failed check: rs1 stops, its series go down.
        net.stop_server("rs1")
        try:
            got = wait_for("rs1 down", lambda g: value(
                g, "vigil_real_server_up", virtual_server=SERVICE, real_server=RS1) == 0, 40)
            assert value(got, "vigil_health_check_consecutive_failures",
                         virtual_server=SERVICE, real_server=RS1) >= 1
            assert value(got, "vigil_ipvs_service_destinations_up",
                         virtual_server=SERVICE) == 1
        finally:
            if not net.server_running("rs1"):
                net.start_server("rs1")

        # Bound to the management address only: not the VIP, not eth1.
        r = net.in_ns("client", "/usr/bin/python3", "-c", GET,
                      f"http://{net.VIP}:{PORT}/metrics", check=False)
        assert r.returncode != 0, f"the VIP answered on {PORT}"
        ss = lb1.check(f"ss -Htln sport = :{PORT}")
        # Columns: state, queues, local address:port, peer (`0.0.0.0:*` for
        # any listener): bound on the management address alone.
        local = [line.split()[3] for line in ss.splitlines() if line.strip()]
        assert local == [f"{LB1}:{PORT}"], ss
    finally:
        flashconf.commit(lb1, saved, apply="reload")
