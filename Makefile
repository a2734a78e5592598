# vigil: build, test and run the lab. `make test` is what CI runs.
SHELL := /bin/bash
TARGET := x86_64-unknown-linux-gnu
STATIC := RUSTFLAGS='-C target-feature=+crt-static'
BIN := target/$(TARGET)/release/vigil

.PHONY: all deps build hot-text test unit fmt-check clippy clippy-beside fuzz-build figures soak soak-store soak-console soak-advgap soak-flood interop-controls clean image image-check image-lint
all: build

# What a fresh Debian machine lacks (apt packages, aiosmtpd): idempotent.
deps:
	@scripts/install-deps

# The appliance binary: static-pie, release profile tuned for speed
# (opt-level 3, LTO, one codegen unit: see Cargo.toml), its hot functions
# first in its code, then its start-up-only code, which it unmaps once it
# runs (build.rs, link/hot-text.ld). A text relocation would make that
# code's pages private copies, which unmapping would undo: refused.
build: $(BIN)
$(BIN): Cargo.toml Cargo.lock build.rs link/hot-text.ld $(shell find src -name '*.rs')
	$(STATIC) cargo build --release --locked --target $(TARGET)
	@if readelf -d $(BIN) | grep -q TEXTREL; then echo "$(BIN) has text relocations" >&2; exit 1; fi

# link/hot-text.ld again, from a profile of a running daemon (needs root,
# valgrind): after changes that move where a running vigil spends its code,
# or what only its start-up runs. Its IPVS side runs in a lab VM (the
# bench's: its prefix, its probe).
hot-text: lab-image bench-probe
	VLAB_PREFIX=$(BENCH_VLAB_PREFIX) scripts/hot-text

# Everything: lint, unit, integration, namespace and lab tests (needs
# root). The namespace tests mostly wait on protocol timers (the cores are
# about 80 % idle through them), so the release build, the lab image and
# clippy are made meanwhile in the idle scheduling and I/O classes: an
# idle-class task runs only on a core nothing else wants, and a test's
# process preempts it at once. Cargo locks each profile's directory on its
# own, so the release build never waits on `unit`'s debug build; clippy
# (the debug profile too) gets a target directory of its own for the same
# reason. Their output follows the tests'; a failure of any fails `test`.
# Where the idle class is refused (some containers), clippy comes first
# and the rest after the tests instead.
PREBUILD_LOG := target/test-prebuild.log
test: deps fmt-check
	@mkdir -p target
	@if ! chrt --idle 0 true 2>/dev/null; then \
	  echo "make test: no idle scheduling class here: clippy first, the release build and lab image after the tests"; \
	  $(MAKE) --no-print-directory clippy unit image-lint; exit; fi; \
	  io=; ionice -c 3 true 2>/dev/null && io="ionice -c 3"; \
	  $$io chrt --idle 0 $(MAKE) -k --no-print-directory lab-image clippy-beside >$(PREBUILD_LOG) 2>&1 & pre=$$!; \
	  $(MAKE) --no-print-directory unit image-lint; rc=$$?; \
	  wait $$pre; prc=$$?; \
	  echo "== release build, lab image and clippy, made beside the tests (exit $$prc):"; cat $(PREBUILD_LOG); \
	  [ $$rc -eq 0 ] && [ $$prc -eq 0 ]
	@$(MAKE) --no-print-directory lab-test
	@echo "make test: all passed"

# Unit and integration tests, namespace tests with keepalived included.
unit: deps
	cargo test --locked --all-targets --features fault-hooks

fmt-check:
	cargo fmt --all -- --check

CLIPPY_ARGS := --locked --all-targets --features fault-hooks
clippy:
	cargo clippy $(CLIPPY_ARGS) -- -D warnings

# `make test`'s clippy, run beside the tests' debug build.
clippy-beside:
	cargo clippy $(CLIPPY_ARGS) --target-dir target/clippy -- -D warnings

# The firmware image (README, "The firmware image"). `image` needs a
# Buildroot tree and a host that reaches the download sites; `image-check`
# runs Buildroot's own checks of buildroot/ offline; `image-lint` (part of
# `test`) needs no Buildroot: kernel fragments against the lab's kernel,
# genimage.cfg against vigil's store, shellcheck.
BOARD ?= x86_64
image:
	@test -n "$(BUILDROOT)" || { echo "usage: make image BUILDROOT=path/to/buildroot [BOARD=x86_64|nanopi-r3s]"; exit 2; }
	scripts/image-build "$(BUILDROOT)" "$(BOARD)"

image-check:
	@test -n "$(BUILDROOT)" || { echo "usage: make image-check BUILDROOT=path/to/buildroot"; exit 2; }
	scripts/image-check "$(BUILDROOT)"

image-lint: deps
	scripts/image-lint

# Figures for notes: encoded config sizes, import speed, binary size.
figures: build
	cargo run --release --locked --example figures
	@echo "release binary: $$(stat -c %s $(BIN)) bytes"

# Long runs of the power-cut tests of the flash store's commit history
# (`cargo test` runs 150 operations per run; this 20,000), then the lab's
# power cuts in a loop of serial-console commits (`make test` cuts twice;
# this 50: about 45 minutes).
SOAK_OPS ?= 20000
CONSOLE_CUTS ?= 50
soak: soak-store soak-console soak-advgap soak-flood interop-controls
# A reload to the largest table the bounds allow (DESTINATIONS_MAX,
# 100,000 destinations), with one less, a status dump and a restart,
# against a 50 ms VRRP master beside keepalived (netns, root; issue 20);
# and the same with the master under 1,000 checks a second.
soak-advgap:
	cargo test --locked --features fault-hooks --test it -- netns_advgap:: netns_load:: --ignored --test-threads=1
# 30 s of junk VRRP at the highest rate one namespace sends, against a
# 50 ms v3 vigil pair (netns, root; issue 14 item 5).
soak-flood:
	cargo test --locked --features fault-hooks --test it -- netns_flood:: --ignored --test-threads=1
# The interop harness's own controls: keepalived against keepalived, the
# behaviour each vigil interop test holds vigil to (about 4 minutes; in
# `make soak`, out of `make test`'s time budget).
interop-controls:
	cargo test --locked --features fault-hooks --test it -- --ignored --test-threads=2 \
	  netns_auth::keepalived_pair netns_interop::keepalived_pair netns_hostile::hostile_v2_to_keepalived
soak-store:
	VIGIL_SOAK_OPS=$(SOAK_OPS) cargo test --release --locked --features fault-hooks --test it store_history
soak-console: lab-image
	cd lab && VIGIL_CONSOLE_CUTS=$(CONSOLE_CUTS) $(LAB_PY) -m pytest -p no:cacheprovider -v \
	  tests/test_console.py -k power_cuts

# Build every fuzz target (cargo-fuzz, nightly).
fuzz-build:
	cd fuzz && cargo +nightly fuzz build

clean:
	cargo clean

-include lab/lab.mk
-include bench/bench.mk
