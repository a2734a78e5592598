"""lab/vlab/__main__.py: `python3 -m vlab up|run|stop|status` (from lab/).
Owns: the command line behind `make run` and `make stop`."""
import argparse
import sys
import time

from . import lab as labmod
from . import net, paths, seed


def status():
    from .proc import recorded
    for n in net.NODES + net.REAL_SERVERS:
        pid = recorded(n)
        print(f"{n}: {'running, pid ' + str(pid) if pid else 'stopped'}")
    print(f"namespaces: {' '.join(net.existing()) or 'none'}")


def main():
    ap = argparse.ArgumentParser(prog="vlab")
    ap.add_argument("cmd", choices=["run", "up", "stop", "status"])
    ap.add_argument("--baseline", action="store_true",
                    help="play the plan with keepalived instead of vigil (from the same flash)")
    a = ap.parse_args()
    if a.cmd == "stop":
        labmod.stop_all()
        print("lab stopped: VMs and servers killed by recorded PID, vl-* namespaces deleted")
        return 0
    if a.cmd == "status":
        status()
        return 0
    t0 = time.monotonic()
    with labmod.Lab(keep=True) as lab:
        lab.up()
        if a.cmd == "run":
            if a.baseline:
                lab.use_keepalived()
            steps = seed.play(lab, daemon="keepalived" if a.baseline else "vigil")
    print(f"lab up in {time.monotonic() - t0:.0f} s and left running:")
    for n in net.NODES:
        print(f"  serial console of {n}: make console NODE={n}   (leave with Ctrl-])")
    print(f"  console logs: {paths.RUN}/lbN-console.log")
    print(f"  client shell: ip netns exec {net.ns('client')} bash   (VIP {net.VIP})")
    print("  stop it all:  make stop")
    if a.cmd == "run":
        passed = sum(s.ok for s in steps)
        print(f"seed plan: {passed}/{len(steps)} steps passed"
              + ("" if passed == len(steps) else
                 " (exit status 1: not every step passed; the lab is up either way)"))
        return 0 if passed == len(steps) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
