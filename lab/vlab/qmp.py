"""lab/vlab/qmp.py: a minimal QMP client for a VM's power control.
Owns: the capabilities handshake, commands, and the events qemu sends
(RESET, WATCHDOG, STOP, SHUTDOWN...), kept with their arrival time."""
import json
import socket
import threading
import time
from . import unixsock


class QMPError(RuntimeError):
    pass


class QMP:
    def __init__(self, path: str, connect_timeout: float = 20.0):
        self.sock = unixsock.connect(path, connect_timeout, QMPError)
        self.events = []          # (monotonic time, event dict)
        self.replies = []
        self.cond = threading.Condition()
        self.closed = False
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()
        self._wait_reply(lambda m: "QMP" in m, 10)
        self.cmd("qmp_capabilities")

    def _read(self):
        f = self.sock.makefile("rb")
        try:
            for line in f:
                try:
                    msg = json.loads(line)
                except ValueError:
                    continue
                with self.cond:
                    if "event" in msg:
                        self.events.append((time.monotonic(), msg))
                    else:
                        self.replies.append(msg)
                    self.cond.notify_all()
        except OSError:
            pass            # qemu went away (power cut): same as EOF
        with self.cond:
            self.closed = True
            self.cond.notify_all()

    def _wait_reply(self, pred, timeout):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for i, m in enumerate(self.replies):
                    if pred(m):
                        return self.replies.pop(i)
                left = deadline - time.monotonic()
                if left <= 0 or self.closed:
                    raise QMPError("no QMP reply" + (" (qemu gone)" if self.closed else ""))
                self.cond.wait(min(left, 1.0))

    def cmd(self, command: str, timeout: float = 10.0, **args):
        ident = f"{command}-{time.monotonic_ns()}"
        msg = {"execute": command, "id": ident}
        if args:
            msg["arguments"] = args
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        if command == "quit":
            return None   # qemu may close the socket before answering
        r = self._wait_reply(lambda m: m.get("id") == ident, timeout)
        if "error" in r:
            raise QMPError(f"{command}: {r['error']}")
        return r.get("return")

    def wait_event(self, name: str, timeout: float, since: float = 0.0):
        """The first event `name` that arrived after monotonic time `since`."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for t, e in self.events:
                    if t >= since and e["event"] == name:
                        return t, e
                left = deadline - time.monotonic()
                if left <= 0 or self.closed:
                    raise QMPError(f"no {name} event within {timeout:.0f}s")
                self.cond.wait(min(left, 1.0))

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.thread.join(2)
