#!/usr/bin/env python3
"""A real SMTP server for vigil's mail tests: aiosmtpd on 127.0.0.1.

    smtp_sink.py PORT DIR [--until-killed]

Each message received is written to DIR/NNNN.eml (atomically: written to a
temporary name, then renamed) as

    X-Envelope-From: <MAIL FROM>
    X-Envelope-To: <RCPT TO> <RCPT TO> ...
    <the message exactly as received>

Prints "READY" on stdout once it accepts connections, then serves until
stdin is closed (the test's handle dropped) or SIGTERM; with
--until-killed (stdin is /dev/null), until SIGTERM or SIGKILL only.
"""

import os
import signal
import sys

try:
    from aiosmtpd.controller import Controller
except ImportError:
    print("aiosmtpd is missing: pip install aiosmtpd", file=sys.stderr)
    sys.exit(3)


class Sink:
    def __init__(self, directory):
        self.directory = directory
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        name = os.path.join(self.directory, "%04d.eml" % self.count)
        head = "X-Envelope-From: %s\r\nX-Envelope-To: %s\r\n" % (
            envelope.mail_from,
            " ".join(envelope.rcpt_tos),
        )
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8")
        tmp = name + ".tmp"
        with open(tmp, "wb") as f:
            f.write(head.encode("utf-8") + content)
        os.rename(tmp, name)
        return "250 Message accepted for delivery"


def main():
    port = int(sys.argv[1])
    directory = sys.argv[2]
    controller = Controller(Sink(directory), hostname="127.0.0.1", port=port)
    controller.start()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("READY", flush=True)
    try:
        if "--until-killed" in sys.argv[3:]:
            signal.pause()
        else:
            sys.stdin.read()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
