"""lab/vlab/bench_targets.py: the 1,000 real servers of the health-check
benchmark (vlab/bench.py): one process listening on ADDR:PORT0 ..
PORT0+N-1 that accepts every connection and closes it at once, and writes
how many it has accepted to COUNT_FILE once a second (the bench reads the
checks/s each daemon really made). Owns nothing else; run inside the rs1
namespace by the bench, stopped by its recorded PID.
Usage: bench_targets.py ADDR PORT0 N COUNT_FILE"""
import os
import resource
import selectors
import socket
import sys
import time


def main():
    addr, port0, n, count_file = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n + 256:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n + 1024), hard))
    sel = selectors.DefaultSelector()
    for port in range(port0, port0 + n):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((addr, port))
        s.listen(128)
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
    accepted = 0
    next_write = 0.0
    while True:
        for key, _ in sel.select(timeout=0.5):
            while True:
                try:
                    c, _ = key.fileobj.accept()
                except (BlockingIOError, InterruptedError):
                    break
                except OSError:
                    break
                c.close()
                accepted += 1
        now = time.monotonic()
        if now >= next_write:
            tmp = count_file + ".tmp"
            with open(tmp, "w") as f:
                f.write(f"{accepted}\n")
            os.replace(tmp, count_file)
            next_write = now + 1.0


if __name__ == "__main__":
    main()
