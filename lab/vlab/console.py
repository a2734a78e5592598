"""lab/vlab/console.py: a VM's serial console over qemu's unix socket.
Owns: a reader thread that keeps everything the guest printed, waiting for a
pattern, and running a shell command with a unique marker to get its output
and exit status back."""
import os
import re
import socket
import threading
import time
import uuid
from . import unixsock


class ConsoleError(RuntimeError):
    pass


class Console:
    def __init__(self, path: str, connect_timeout: float = 20.0):
        self.path = path
        self.buf = ""
        # Every byte as the guest sent it (escape sequences, CRs).
        self.raw = b""
        self.cond = threading.Condition()
        self.closed = False
        self.sock = unixsock.connect(path, connect_timeout, ConsoleError)
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                data = b""
            with self.cond:
                if not data:
                    self.closed = True
                    self.cond.notify_all()
                    return
                self.raw += data
                self.buf += data.decode("utf-8", "replace").replace("\r", "")
                self.cond.notify_all()

    def mark(self) -> int:
        """A position in everything printed so far; pass to wait_for(since=)."""
        with self.cond:
            return len(self.buf)

    def wait_for(self, pattern: str, timeout: float, since: int = 0):
        """Wait until `pattern` (a regex) appears after `since`; returns the match."""
        rx = re.compile(pattern, re.S)
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                m = rx.search(self.buf, since)
                if m:
                    return m
                left = deadline - time.monotonic()
                if left <= 0 or self.closed:
                    tail = self.buf[-400:]
                    why = "console closed" if self.closed else f"timeout {timeout:.0f}s"
                    raise ConsoleError(f"{why} waiting for {pattern!r} on {self.path}; "
                                       f"last output:\n{tail}")
                self.cond.wait(min(left, 1.0))

    def send(self, text: str):
        self.sock.sendall(text.encode())

    def run(self, cmd: str, timeout: float = 30.0):
        """Run `cmd` in the guest's shell -> (exit status, output). stdin is
        /dev/null, stderr goes with stdout. The markers are quoted so the
        tty's echo of the command line never matches them."""
        if "\n" in cmd:
            raise ValueError("one line only; use ';' or a script on the guest")
        tag = uuid.uuid4().hex[:12]
        since = self.mark()
        self.send(f"echo '=B''{tag}='; ( {cmd} ) </dev/null 2>&1; "
                  f"printf '\\n=E''{tag}=%d=\\n' $?\n")
        m = self.wait_for(rf"=B{tag}=\n(.*?)\n=E{tag}=(\d+)=", timeout, since)
        return int(m.group(2)), m.group(1)

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.thread.join(2)

    def __repr__(self):
        return f"Console({os.path.basename(self.path)})"
