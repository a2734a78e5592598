"""lab/vlab/proc.py: running commands and the lab's own background processes.
Owns: sh(), and pid files under target/lab/run/ so that any process the lab
started (qemu, echo servers) is found and killed by its recorded PID, never
by name."""
import os
import signal
import subprocess
import time

from . import paths


def sh(*args, check=True, timeout=60, capture=True, input=None):
    r = subprocess.run(list(args), capture_output=capture, text=True, timeout=timeout,
                       input=input)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} -> {r.returncode}: {(r.stderr or '').strip()}")
    return r


def spawn(name, argv, log, needle):
    """Start a detached process (own session, survives the caller), record its
    PID and `needle` (a word that must be in its cmdline) in run/<name>.pid."""
    with open(log, "ab") as out:
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                             start_new_session=True)
    with open(paths.run_path(f"{name}.pid"), "w") as f:
        f.write(f"{p.pid} {needle}\n")
    return p


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def recorded(name):
    """(pid, cmdline-needle) from run/<name>.pid if that process still runs it."""
    try:
        with open(paths.run_path(f"{name}.pid")) as f:
            pid_s, needle = (f.read().split() + [""])[:2]
        pid = int(pid_s)
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
    except (OSError, ValueError):
        return None
    return pid if needle in cmdline and _alive(pid) else None


def kill_recorded(name, grace=5.0):
    """Kill the process recorded for `name` (TERM, then KILL); drop the pid file."""
    pid = recorded(name)
    if pid:
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + wait
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if not _alive(pid):
                break
    try:
        os.unlink(paths.run_path(f"{name}.pid"))
    except FileNotFoundError:
        pass
    return pid
