"""lab/tests/test_seed.py: the seed tutorial's scenario, automated: with
vigil (xfail, by probe, while a part it needs is not built) and with keepalived
from the same flash as the baseline that proves the lab itself."""
import pytest

from conftest import report
from vlab import net, seed


def test_seed_plan_vigil(lab):
    steps = seed.play(lab, log=report)
    lab_steps = [s for s in steps if not s.needs_vigil]
    assert all(s.ok for s in lab_steps), [s.line() for s in lab_steps if not s.ok]
    failed = [s for s in steps if not s.ok]
    # Only steps whose part is missing (by probe) may fail, and then the
    # test is an expected failure naming the parts; anything else fails.
    missing = {lab.part_missing(s.needs) for s in failed}
    if failed and None not in missing:
        pytest.xfail("; ".join(sorted(missing)))
    assert not failed, [s.line() for s in failed]


def test_seed_plan_keepalived_baseline(lab):
    lab.use_keepalived()
    try:
        steps = seed.play(lab, log=report, daemon="keepalived")
        assert all(s.ok for s in steps), [s.line() for s in steps if not s.ok]
        assert lab.wait_vip("lb1", 15) is not None
        r = net.client("ws", net.VIP, "--clients", "20", "--duration", "5",
                       "--interval", "0.25")
        report(f"baseline: 20 WebSocket clients through the VIP for 5 s: {r}")
        assert r.get("messages_ok", 0) > 0 and r["drops"] == 0 and r["reconnects"] == 0, r
        assert set(r["servers"]) <= set(net.REAL_SERVERS), r
    finally:
        lab.use_vigil()
