"""lab/tests/test_journal.py: vigil's log lines reach the box's journald as
structured entries: `journalctl -u vigil INSTANCE=VI_1` finds lb1's VRRP
state changes, each with its instance, VRID, interface, states and the
level mapped to PRIORITY (daemon::logging's table of fields); any health
or IPVS line about the seed's service names it as VIRTUAL_SERVER
192.168.1.200:80/tcp."""
import json

from conftest import report
from vlab import net

STATES = {"INIT", "BACKUP", "MASTER", "FAULT"}
FIELDS = "MESSAGE,PRIORITY,SYSLOG_IDENTIFIER,INSTANCE,VRID,INTERFACE,FAMILY,STATE,FROM"


def entries(node, *matches, fields=FIELDS):
    """The current boot's journal entries of vigil matching every
    `FIELD=value` in `matches`, as dicts."""
    sel = " ".join(f"'{m}'" for m in matches)
    _, out = node.run(f"journalctl -b -q -u vigil --no-pager -o json "
                      f"--output-fields={fields} {sel}", timeout=60)
    rows = []
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("{"):
            rows.append(json.loads(line))
    return rows


def test_state_changes_carry_their_fields(lab):
    lb1 = lab["lb1"]
    changes = entries(lb1, "INSTANCE=VI_1", "MESSAGE=vrrp state change")
    report(f"journal: lb1 has {len(changes)} VI_1 state change(s); last: "
           f"{changes[-1] if changes else None}")
    assert changes, "no `vrrp state change` entry with INSTANCE=VI_1 on lb1"
    for e in changes:
        assert e.get("SYSLOG_IDENTIFIER") == "vigil", e
        assert e.get("PRIORITY") == "5", e  # info: notice
        assert e.get("VRID") == "51", e
        assert e.get("INTERFACE") == "eth0", e
        assert e.get("FAMILY") == "ipv4", e
        assert e.get("STATE") in STATES and e.get("FROM") in STATES, e
    if lab.vip_holders() == ["lb1"]:
        assert changes[-1]["STATE"] == "MASTER", changes[-1]
    # The filter on a field alone finds the same lines.
    masters = entries(lb1, "INSTANCE=VI_1", "STATE=MASTER")
    assert all(e.get("INSTANCE") == "VI_1" for e in masters), masters


def test_service_lines_name_the_virtual_server(lab):
    lb1 = lab["lb1"]
    rows = entries(lb1, f"VIRTUAL_SERVER={net.VIP}:80/tcp",
                   fields="MESSAGE,PRIORITY,VIRTUAL_SERVER,REAL_SERVER,CHECKER")
    report(f"journal: lb1 has {len(rows)} entries with VIRTUAL_SERVER={net.VIP}:80/tcp")
    # Only changes are logged, so there may be none in this boot; those
    # there are carry the service's value and, for a health line, the
    # real server and its checker.
    for e in rows:
        assert e.get("VIRTUAL_SERVER") == f"{net.VIP}:80/tcp", e
        if e.get("MESSAGE", "").startswith("real server "):
            assert e.get("REAL_SERVER") and e.get("CHECKER"), e
