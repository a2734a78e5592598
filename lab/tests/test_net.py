"""lab/tests/test_net.py: the lab's own controls work: a link taken down on
the switch cuts a node off, a frozen VM stops answering, both come back."""
from vlab import net


def test_link_down_and_up(lab):
    assert net.ping("client", "192.168.1.100", count=1)[0]
    net.link("lb1", 0, "down")
    try:
        assert not net.ping("client", "192.168.1.100", count=2)[0]
    finally:
        net.link("lb1", 0, "up")
    assert net.ping("client", "192.168.1.100", count=3, wait=2)[0]


def test_freeze_and_thaw(lab):
    lb2 = lab["lb2"]
    assert net.ping("client", "192.168.1.101", count=1)[0]
    lb2.freeze()
    try:
        assert not net.ping("client", "192.168.1.101", count=2)[0]
    finally:
        lb2.thaw()
    assert net.ping("client", "192.168.1.101", count=3, wait=2)[0]
    lb2.check("true")
