"""lab/vlab/flashconf.py: a running appliance's flash config, changed for a
test and put back. Owns: reading the stored config (canonical text), small
text edits of it, committing a config (copied to the node, `vigil config
import` into the flash store, then vigil restarted or `vigil reload`ed), and
restoring what was saved. Must not: boot or stop VMs, or leave a node with a
config other than the one it found (restore() runs in the tests' finally)."""
from .node import STORE  # noqa: F401 - the store path, for the tests

# A shell filter from the canonical export to what keepalived reads: the
# `appliance` block is vigil's (keepalived would warn about each of its
# lines). The export writes the block from column 0 to a lone `}`.
FOR_KEEPALIVED = "sed '/^appliance {/,/^}$/d'"


def stored(node) -> str:
    """The node's stored config as canonical keepalived.conf text."""
    return node.check(f"vigil config export --store {STORE}")


def commit(node, text, apply="restart", timeout=30):
    """Import `text` into the node's flash store, then apply it: "restart"
    (systemctl restart vigil), "reload" (`vigil reload`, live) or None (the
    daemon is left as it is). -> the apply command's output."""
    path = "/run/vlab-commit.conf"
    node.put(path, text.encode())
    node.check(f"vigil config import {path} --store {STORE}")
    if apply == "restart":
        return node.check("systemctl restart vigil", timeout)
    if apply == "reload":
        return node.check("vigil reload", timeout)
    if apply is not None:
        raise ValueError(f"apply={apply!r}: restart, reload or None")
    return ""


def with_global(text, line):
    """`text` with `line` added at the top of global_defs."""
    out, done = [], False
    for x in text.splitlines():
        out.append(x)
        if not done and x.strip() == "global_defs {":
            out.append(f"    {line}")
            done = True
    if not done:
        raise ValueError("no `global_defs {` line in the config")
    return "\n".join(out) + "\n"


def without_real_server(text, addr, port):
    """`text` without the `real_server addr port { ... }` block (canonical
    text: the block ends at the first line indented like its head)."""
    out, skip = [], None
    for x in text.splitlines():
        head = x.strip()
        if skip is None and head == f"real_server {addr} {port} {{":
            skip = x[:len(x) - len(x.lstrip())] + "}"
            continue
        if skip is not None:
            if x.rstrip() == skip:
                skip = None
            continue
        out.append(x)
    if skip is not None or len(out) == len(text.splitlines()):
        raise ValueError(f"no complete real_server {addr} {port} block in the config")
    return "\n".join(out) + "\n"


def with_real_server(text, service, block):
    """`text` with `block` (a real_server block, unindented) added at the end
    of `virtual_server service { ... }` (service: "192.168.1.200 80")."""
    lines = text.splitlines()
    try:
        start = lines.index(f"virtual_server {service} {{")
        end = lines.index("}", start)
    except ValueError:
        raise ValueError(f"no virtual_server {service} block in the config") from None
    add = ["    " + x if x else x for x in block.strip("\n").splitlines()]
    return "\n".join(lines[:end] + add + lines[end:]) + "\n"


class Saved:
    """The stored configs of some nodes, saved now; restore() imports each
    back and restarts vigil (the table is then reconciled to it)."""

    def __init__(self, *nodes):
        self.texts = [(n, stored(n)) for n in nodes]

    def text(self, node):
        """The config saved for `node`."""
        return next(t for n, t in self.texts if n is node)

    def restore(self):
        errors = []
        for node, text in self.texts:
            try:
                commit(node, text, apply="restart")
            except Exception as e:  # noqa: BLE001 - restore every node, then say
                errors.append(f"{node.name}: {e}")
        if errors:
            raise RuntimeError("restoring the flash configs: " + "; ".join(errors))
