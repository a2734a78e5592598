"""lab/tests/test_ipvs.py: what vigil programs into the real kernel on the
appliance: the seed's service in the IPVS table as `ipvsadm -Ln` shows it,
the long-connection sysctls at their documented appliance defaults, and the
established-TCP idle timeout that keeps idle WebSockets alive, the age of
the counters the status shows (a small table: read every 2 s), and a pass
over two pipelined batches where the kernel refuses some ops: each refusal
reported with its own op and errno, everything else applied."""
import json

import pytest

from conftest import ensure_ready


@pytest.fixture
def lb1(lab):
    """lb1 (the seed's MASTER), ready; an expected failure, by probe, while
    vigil does not program IPVS."""
    missing = lab.part_missing("ipvs")
    if missing:
        pytest.xfail(missing)
    ensure_ready(lab, "lb1")
    return lab["lb1"]


def test_seed_service_is_in_the_kernel_table(lb1):
    out = lb1.check("ipvsadm -Ln")
    assert "TCP  192.168.1.200:80 wrr persistent 3600" in out, out
    for rs in ("192.168.1.102:80", "192.168.1.103:80"):
        assert any(rs in line and "Route" in line for line in out.splitlines()), out


def test_a_small_tables_counters_are_read_every_2_s(lb1):
    """The status says how old its counters are: a table this small is
    read whole every 2 s, so they are never much older, and the text
    status has no line about their age (that is for a large table)."""
    st = json.loads(lb1.check("vigil status --json").strip().splitlines()[-1])["ipvs"]
    assert st["counters_every_ms"] == 2000, st
    age = st["counters_age_ms"]
    # A read every 2 s, plus a pass or a status build in between.
    assert isinstance(age, int) and 0 <= age < 4500, st
    assert "as read" not in lb1.check("vigil status"), "an age line for a fresh table"


def test_long_connection_sysctls_have_appliance_defaults(lb1):
    names = ("expire_nodest_conn", "expire_quiescent_template", "conn_reuse_mode", "sloppy_tcp")
    out = lb1.check("sysctl -n " + " ".join(f"net.ipv4.vs.{n}" for n in names))
    assert out.split() == ["1", "1", "1", "1"], out


def test_idle_websockets_outlast_the_kernels_900_s(lb1):
    out = lb1.check("ipvsadm -L --timeout")
    assert "Timeout (tcp tcpfin udp): 7200 " in out, out


# A second vigil on lb1, beside the seed's: its own config (VIPs the seed
# does not use, so each leaves the other's services alone) and control socket.
BATCH_CONF = "/tmp/batch.conf"
BATCH_SOCK = "/run/vigil-batch.sock"
BATCH_VIPS = ("10.99.0.1", "10.99.0.2", "10.99.0.3")


def batch_conf_cmd():
    """One shell line writing the config: 70 + 3 + 2 real servers; the
    second service's scheduler (twos) has no module in the image."""
    def vs(vip, sched, n, net):
        return (f"printf 'virtual_server {vip} 80 {{\\nlvs_sched {sched}\\nlvs_method DR\\n"
                f"protocol TCP\\n'; for i in $(seq {n}); do "
                f"printf 'real_server 10.98.{net}.%d 80 {{\\nweight 1\\n}}\\n' $i; done; echo '}}'")
    parts = [vs(BATCH_VIPS[0], "wrr", 70, 0), vs(BATCH_VIPS[1], "twos", 3, 1),
             vs(BATCH_VIPS[2], "rr", 2, 2)]
    return "{ " + "; ".join(parts) + "; } > " + BATCH_CONF


def test_refused_ops_are_reported_one_by_one_and_the_rest_applied(lb1):
    """vigil pipelines table changes (up to 1,024 per send, only the last
    acked; refusals matched by sequence number). 78 ops in one send, holding a service whose
    scheduler module is missing: that service and each of its three
    destinations are refused with their own error, every other op is
    applied, on the real kernel."""
    if "ip_vs_twos" in lb1.check("find /lib/modules -name 'ip_vs_*'"):
        pytest.skip("this kernel has ip_vs_twos: no missing scheduler to provoke")
    import json
    import time
    lb1.check(batch_conf_cmd())
    pid = lb1.check(f"vigil run --config {BATCH_CONF} --control {BATCH_SOCK} "
                    ">/dev/null 2>&1 & echo $!").strip()
    try:
        err, deadline = None, time.monotonic() + 30
        while err is None and time.monotonic() < deadline:
            rc, out = lb1.run(f"vigil status --json --control {BATCH_SOCK}")
            if rc == 0:
                err = json.loads(out.strip().splitlines()[-1])["ipvs"]["error"]
            time.sleep(0.5)
        assert err, "no refused op reported within 30 s"
        assert err.startswith("4 of 78 ops refused: "), err
        assert f"NEW_SERVICE TCP {BATCH_VIPS[1]}:80: scheduler twos unavailable" in err, err
        for i in (1, 2, 3):
            assert (f"NEW_DEST TCP {BATCH_VIPS[1]}:80 -> 10.98.1.{i}:80: No such process"
                    in err), err
        table = lb1.check("ipvsadm -Ln")
        dests = {vip: 0 for vip in BATCH_VIPS}
        svc = None
        for line in table.splitlines():
            f = line.split()
            if f and f[0] in ("TCP", "UDP", "SCTP", "FWM"):
                # A FWM service (the seed's DR paths) is none of these.
                svc = f[1].rsplit(":", 1)[0]
            elif f and f[0] == "->" and svc in dests:
                dests[svc] += 1
        assert dests == {BATCH_VIPS[0]: 70, BATCH_VIPS[1]: 0, BATCH_VIPS[2]: 2}, table
        assert f"TCP  {BATCH_VIPS[1]}:80" not in table, table
    finally:
        lb1.run(f"kill {pid}; sleep 0.5; " + "; ".join(
            f"ipvsadm -D -t {vip}:80" for vip in BATCH_VIPS) + f"; rm -f {BATCH_CONF}")
