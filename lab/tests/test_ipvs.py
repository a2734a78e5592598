"""lab/tests/test_ipvs.py: what vigil programs into the real kernel on the
appliance: the seed's service in the IPVS table as `ipvsadm -Ln` shows it,
the long-connection sysctls at their documented appliance defaults, and the
established-TCP idle timeout that keeps idle WebSockets alive."""
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


def test_long_connection_sysctls_have_appliance_defaults(lb1):
    names = ("expire_nodest_conn", "expire_quiescent_template", "conn_reuse_mode", "sloppy_tcp")
    out = lb1.check("sysctl -n " + " ".join(f"net.ipv4.vs.{n}" for n in names))
    assert out.split() == ["1", "1", "1", "1"], out


def test_idle_websockets_outlast_the_kernels_900_s(lb1):
    out = lb1.check("ipvsadm -L --timeout")
    assert "Timeout (tcp tcpfin udp): 7200 " in out, out
