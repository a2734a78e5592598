"""lab/tests/conftest.py: fixtures shared by the lab tests. Owns: one lab per
session (network, real servers, lb1 with the seed's master config, lb2 with
its backup config, both booted), torn down on any exit (fixture finaliser,
atexit, SIGTERM/SIGHUP -> SystemExit), and the timing report printed at the
end (boot times, suite time)."""
import os
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from vlab.lab import Lab  # noqa: E402

REPORT = []
T0 = time.monotonic()


def report(line):
    REPORT.append(line)


@pytest.fixture(scope="session")
def lab():
    lab = Lab(keep=False, log=report)
    try:
        lab.up()
        yield lab
    finally:
        lab.cleanup()


@pytest.fixture
def node_lb2(lab):
    """lb2, guaranteed running and ready again after the test."""
    yield lab["lb2"]
    ensure_ready(lab, "lb2")


def ensure_ready(lab, name):
    node = lab[name]
    if not node.running():
        node.detach()
        node.start()
        node.wait_ready()
        return
    since = node.console.mark()
    try:
        node.run("true", timeout=10)
    except Exception:  # noqa: BLE001 - a test left it booting: wait for it
        node.wait_ready(since=since)


def vigil_run_missing(lab):
    return lab.vigil_run_missing()


def pytest_terminal_summary(terminalreporter):
    terminalreporter.section("lab timings")
    for line in REPORT:
        terminalreporter.write_line(line)
    terminalreporter.write_line(f"lab suite total: {time.monotonic() - T0:.0f} s")
