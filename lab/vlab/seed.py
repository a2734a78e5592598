"""lab/vlab/seed.py: the seed tutorial's own test plan, played on a running
lab, one PASS/FAIL line per step. Owns: the steps and their verdicts; a step
that needs a part not built yet FAILs with that reason, never PASSes.
Used by `make run` (python3 -m vlab run) and lab/tests/test_seed.py."""
import time
from dataclasses import dataclass

from . import net
from .node import STORE

VIP = net.VIP
FAILOVER_TIMEOUT = 15.0   # seed: advert 1 s -> ~3.6 s master-down interval


@dataclass
class Step:
    name: str
    ok: bool
    detail: str
    needs_vigil: bool   # False: the lab itself; True: needs `vigil run`
    needs: str = "vigil"   # the part it needs: "lab", "vigil" or "ipvs"

    def line(self):
        return f"{'PASS' if self.ok else 'FAIL'}  {self.name}: {self.detail}"


def play(lab, log=print, daemon="vigil"):
    """Run every step on `lab`; returns the list of Steps. `daemon` is the
    balancer daemon the plan stops and starts: vigil, or keepalived for the
    baseline (see Lab.use_keepalived)."""
    steps = []
    missing = lab.vigil_run_missing() if daemon == "vigil" else None

    def record(name, ok, detail, needs_vigil=True, needs="vigil"):
        part = lab.part_missing(needs) if daemon == "vigil" and needs_vigil else None
        if not ok and part:
            detail = f"{detail} [{part}]"
        s = Step(name, bool(ok), detail, needs_vigil, needs if needs_vigil else "lab")
        steps.append(s)
        log(s.line())
        return s.ok

    lb1, lb2 = lab["lb1"], lab["lb2"]

    # The lab itself: real servers up, balancers see them, configs on flash.
    for rs in net.REAL_SERVERS:
        r = net.client("http", net.HOSTS[rs])
        record(f"{rs} answers HTTP directly", r.get("server") == rs,
               f"answered by {r.get('server') or r.get('error')}", needs_vigil=False)
    for node in (lb1, lb2):
        bad = [a for a in (net.HOSTS["rs1"], net.HOSTS["rs2"])
               if node.run(f"ping -n -c 1 -W 2 {a}")[0] != 0]
        record(f"{node.name} pings the real servers", not bad,
               f"no reply from {', '.join(bad)}" if bad else "rs1 and rs2 reply",
               needs_vigil=False)
        rc, out = node.run(f"vigil config show --store {STORE}")
        record(f"{node.name} has its config on flash", rc == 0,
               "vigil config show reads it" if rc == 0 else f"exit {rc}: {out[-200:]}",
               needs_vigil=False)

    # The seed's plan.
    holder_wait = lab.wait_vip("lb1", 10 if missing else FAILOVER_TIMEOUT)
    ok, _ = net.ping("client", VIP)
    record("client pings the VIP", ok, f"{VIP} {'replies' if ok else 'does not reply'}")
    holders = lab.vip_holders()
    record("VIP is on the MASTER's eth0", holders == ["lb1"],
           f"VIP held by {', '.join(holders) or 'nobody'}"
           + (f" (after {holder_wait:.1f} s)" if holder_wait is not None else ""))
    r = net.client("http", VIP)
    record("HTTP through the VIP answered by a real server",
           r.get("server") in net.REAL_SERVERS,
           f"answered by {r.get('server')}" if r.get("ok") else r.get("error", "no answer"),
           needs="ipvs")
    r = net.client("ws-once", VIP)
    record("WebSocket through the VIP answered by a real server",
           r.get("server") in net.REAL_SERVERS,
           f"echoed by {r.get('server')}" if r.get("ok") else r.get("error", "no answer"),
           needs="ipvs")

    was_master = holders == ["lb1"]
    t0 = time.monotonic()
    lb1.run(f"systemctl stop {daemon}")
    t = lab.wait_vip("lb2", FAILOVER_TIMEOUT if was_master else 3, since=t0)
    record(f"stop {daemon} on the MASTER: VIP moves to the BACKUP", t is not None and was_master,
           f"on lb2 {t:.1f} s after `systemctl stop` was typed" if t is not None else
           f"VIP held by {', '.join(lab.vip_holders()) or 'nobody'} "
           f"{FAILOVER_TIMEOUT if was_master else 3:.0f} s after the stop")
    moved = t is not None
    t0 = time.monotonic()
    lb1.run(f"systemctl start {daemon}")
    t = lab.wait_vip("lb1", FAILOVER_TIMEOUT if moved else 3, since=t0)
    record(f"start {daemon} on the MASTER: VIP returns (preemption)", t is not None and moved,
           f"back on lb1 {t:.1f} s after `systemctl start` was typed" if t is not None else
           f"VIP held by {', '.join(lab.vip_holders()) or 'nobody'}")
    passed = sum(s.ok for s in steps)
    log(f"seed plan ({daemon}): {passed}/{len(steps)} passed")
    return steps
