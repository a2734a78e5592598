"""lab/vlab/unixsock.py: connecting to a qemu unix socket (serial console,
QMP) that may not exist yet while the VM starts. Owns: the bounded retry."""
import socket
import time


def connect(path: str, timeout: float, error: type) -> socket.socket:
    """A connected stream socket to `path`, retried every 50 ms until
    `timeout` seconds; then `error` naming the path and the last cause."""
    deadline = time.monotonic() + timeout
    while True:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(path)
            return sock
        except OSError as e:
            sock.close()
            if time.monotonic() > deadline:
                raise error(f"cannot connect to {path}: {e}") from e
            time.sleep(0.05)
