"""lab/vlab/paths.py: where the lab keeps things (all under target/lab/)."""
import os

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAB = os.path.join(REPO, "target", "lab")
IMAGE = os.path.join(LAB, "image")   # symlink to images/<key>/, by lab/image/build.sh
RUN = os.path.join(LAB, "run")       # per-VM disks, sockets, logs, pid files
VLAB = os.path.dirname(os.path.abspath(__file__))
VIGIL = os.path.join(REPO, "target", "x86_64-unknown-linux-gnu", "release", "vigil")
FIXTURES = os.path.join(REPO, "fixtures", "seed")
# The fault-hooks build of vigil (`make lab-fault`), a VM's read-only disk
# with serial `tools` when it exists: only tests run it.
FAULT_VIGIL = os.path.join(LAB, "vigil-fault.img")


def run_path(name: str) -> str:
    os.makedirs(RUN, exist_ok=True)
    return os.path.join(RUN, name)
