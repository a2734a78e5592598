"""lab/vlab/vconsole.py: driving `vigil console` over a VM's serial line as a
technician would: typing a password, commands, Tab and `?`, pasting a
keepalived.conf. Owns: recognising the console's prompts and cutting its
output into per-command answers. Works on a `Console` (the raw socket
reader) and never runs a shell command."""
import re
import time

# `lb1> ` (operational mode) or `lb1# ` (configuration mode) at the end of
# everything printed so far.
PROMPT = r"(?:^|\n)([A-Za-z0-9_.-]+)([>#]) $"
CTRL_D = "\x04"


class VigilConsole:
    def __init__(self, console):
        self.c = console

    def wait_prompt(self, since: int, timeout: float = 60):
        """Wait for a prompt printed after `since` -> (host, mode char)."""
        m = self.c.wait_for(PROMPT, timeout, since)
        return m.group(1), m.group(2)

    def wake(self, timeout: float = 120):
        """Press Enter until the console answers with a prompt or a login
        question (agetty may be restarting it)."""
        deadline = time.monotonic() + timeout
        pat = PROMPT + r"|Password: $|password: $|again: $"
        while True:
            since = self.c.mark()
            self.c.send("\r")
            try:
                return self.c.wait_for(pat, 5, since).group(0)
            except Exception:  # noqa: BLE001 - not yet: press Enter again
                if time.monotonic() > deadline:
                    raise

    def login(self, password: str, timeout: float = 120):
        """Answer the password question -> the prompt's (host, mode)."""
        since = self.c.mark()
        self.c.wait_for(r"Password: $", timeout, max(0, since - 200))
        since = self.c.mark()
        self.c.send(password + "\r")
        return self.wait_prompt(since, timeout)

    def choose_password(self, password: str, timeout: float = 120):
        """A factory-fresh box: choose the console password (typed twice)."""
        self.c.wait_for(r"[Nn]ew password: $", timeout, max(0, self.c.mark() - 400))
        since = self.c.mark()
        self.c.send(password + "\r")
        self.c.wait_for(r"again: $", timeout, since)
        since = self.c.mark()
        self.c.send(password + "\r")
        return self.wait_prompt(since, timeout)

    def cmd(self, line: str, timeout: float = 90) -> str:
        """Type `line` and Enter -> everything printed between the echoed
        line and the next prompt."""
        since = self.c.mark()
        self.c.send(line + "\r")
        m = self.c.wait_for(PROMPT, timeout, since)
        text = self.c.buf[since:m.start()]
        # The echo (with the editor's redraws) ends at the first line end.
        nl = text.find("\n")
        return "" if nl < 0 else text[nl + 1:]

    def load(self, text: str, timeout: float = 120) -> str:
        """`load keepalived` (configuration mode), `text` pasted, Ctrl-D ->
        what the console said about it."""
        self.keys("load keepalived\r", r"Ctrl-D on a line of its own\n", timeout)
        return self.paste(text, timeout)

    def paste(self, text: str, timeout: float = 120) -> str:
        """After `load keepalived`: the file's lines, then Ctrl-D -> what
        the console said about it."""
        since = self.c.mark()
        for line in text.splitlines():
            self.c.send(line + "\r")
        self.c.send(CTRL_D)
        m = self.c.wait_for(PROMPT, timeout, since)
        return self.c.buf[since:m.start()]

    def keys(self, keys: str, expect: str, timeout: float = 20) -> str:
        """Send `keys` (no Enter) and wait for `expect` (a regex) -> what
        was printed since."""
        since = self.c.mark()
        self.c.send(keys)
        m = self.c.wait_for(expect, timeout, since)
        return self.c.buf[since:m.end()]

    def echo_latency(self, n: int = 20) -> float:
        """Median seconds from a keystroke sent to its echo, over `n`
        keystrokes typed on an empty line (then erased)."""
        times = []
        for i in range(n):
            ch = "abcdefghijklmnopqrstuvwxyz"[i % 26]
            since = self.c.mark()
            t0 = time.monotonic()
            self.c.send(ch)
            self.c.wait_for(re.escape(ch), 10, since)
            times.append(time.monotonic() - t0)
        self.c.send("\x15")     # Ctrl-U: the line is empty again
        times.sort()
        return times[len(times) // 2]
