# lab/lab.mk: the lab's make targets (included by the root Makefile).
#   make lab-image   build (or reuse) the appliance image under target/lab/
#   make run         install deps, build, boot the lab, play the seed's plan, leave it up
#   make stop        kill the lab's VMs/servers by recorded PID, delete vl-* namespaces
#   make console NODE=lb1   attach to a VM's serial console (leave with Ctrl-])
#   make lab-test    the lab's pytest suite (lab/tests/)
LAB_PY := /usr/bin/python3
LAB_VIGIL := target/x86_64-unknown-linux-gnu/release/vigil
NODE ?= lb1

.PHONY: lab-deps lab-image lab-fault run stop console lab-test

lab-deps:
	@scripts/install-deps

lab-image: lab-deps
	@$(MAKE) --no-print-directory build
	@lab/image/build.sh $(LAB_VIGIL)

run: lab-image
	cd lab && $(LAB_PY) -m vlab run

stop:
	@cd lab && $(LAB_PY) -m vlab stop

console:
	@test -S target/lab/run/$(NODE)-console.sock || { echo "no console for $(NODE): is the lab up (make run)?"; exit 1; }
	@echo "serial console of $(NODE): Ctrl-] to leave"
	@if [ -t 0 ]; then stdio='-,raw,echo=0,escape=0x1d'; else stdio=-; fi; \
	  socat "$$stdio" UNIX-CONNECT:target/lab/run/$(NODE)-console.sock

# The fault-hooks build (`vigil fault`, never shipped): the test build
# `make unit` already made, stripped and padded to whole sectors, handed to
# the VMs as a read-only disk (serial `tools`) for the watchdog tests.
LAB_FAULT := target/lab/vigil-fault.img
lab-fault:
	cargo build --locked --features fault-hooks
	@mkdir -p target/lab
	objcopy --strip-debug target/debug/vigil $(LAB_FAULT).tmp
	truncate -s %512 $(LAB_FAULT).tmp && mv $(LAB_FAULT).tmp $(LAB_FAULT)

lab-test: lab-image lab-fault
	cd lab && $(LAB_PY) -m pytest -p no:cacheprovider -v --durations=0 tests
