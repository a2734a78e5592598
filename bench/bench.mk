# `make bench`: vigil against keepalived 2.2.7, side by side (needs root;
# scripts/install-deps installs keepalived).
# Included from the root Makefile, which defines `build` (the static
# release binary, $(BIN)): that is the vigil measured here.
# 1. tests/it/netns_bench.rs: VRRP failover, start to MASTER, RSS, in network
#    namespaces on the host: about 5 minutes (3 runs took 191 s), bounded
#    to 13 minutes by the driver.
# 2. lab/vlab/bench.py: IPVS (cold programming of 10,000 destinations vs
#    keepalived and ipvsadm-restore, no-op reconcile) and 1,000 TCP checks
#    (CPU, RSS; CPU again at delay_loop 2), in one lab VM booted from the
#    lab image (the host kernel has no IPVS); the in-VM timing is
#    examples/bench_probe.rs, built static and copied in. About 12 minutes
#    with the default 5 runs and 5 windows (measured: boot 39 s, noop 59 s,
#    checks 527 s at both rates; cold about 2 minutes); the VM is torn
#    down on exit.
#    BENCH_VLAB_PREFIX (default vlb-) names its namespaces, so a lab left
#    up by `make run` is not touched. BENCH_ALT=PATH (a static vigil):
#    the cold start measures it too, beside the image's, from text and
#    from the store, in the same VM (ipvs_cold_10k_alt*.json: a change's
#    A/B, the image's vigil its baseline).
# Figures: target/bench/<name>.json in one format (bench/figures.py: the
# median of at least 5 samples per contender with min and max beside it,
# and a "trusted" verdict: false when the baseline's samples spread over
# 20 % of their median, the machine too loaded), then one Markdown table
# of all of them at the end (bench/table.py), also target/bench/summary.md
# (bench-table prints it again). Informative only: no pass/fail threshold.
# Whole `make bench`: about 50 minutes on the 2-core build box (44 measured
# on a slow TCG host before the checks ran at a second rate, which adds
# about 4.5 minutes; the parts' times below are measured there, TCG for
# the VM parts), builds aside.

BENCH_BIN ?= $(if $(BIN),$(BIN),target/x86_64-unknown-linux-gnu/release/vigil)
BENCH_PROBE := target/x86_64-unknown-linux-gnu/release/examples/bench_probe
BENCH_VLAB_PREFIX ?= vlb-

.PHONY: bench bench-netns bench-ipvs bench-probe bench-table bench-config bench-config-lab \
	bench-dr-path bench-scale bench-checks-host bench-layout

# The binaries measured must have the shipped code layout: a release
# binary linked by a cargo build that also built examples or tests has
# other symbol hashes (the dev-dependencies' features), so link/hot-text.ld
# places almost none of its hot code (a hot section of ~150 KB instead of
# ~1.6 MB, 1.2 MB more resident), and make, going by file times, would not
# relink it. Such a binary is refused here, not measured.
BENCH_HOT_MIN := 524288
bench-layout: build
	@for b in $(sort $(BIN) $(BENCH_BIN)); do \
		hot=$$(readelf -SW $$b | sed -n 's/.* \.text\.hot_vigil  *PROGBITS  *[0-9a-f]*  *[0-9a-f]*  *\([0-9a-f]*\) .*/\1/p'); \
		if [ $$((0x$${hot:-0})) -lt $(BENCH_HOT_MIN) ]; then \
			echo "bench: $$b has a hot section of $$((0x$${hot:-0})) bytes, not the shipped layout: rm it and make build (cargo build --release --target ... alone)" >&2; \
			exit 1; \
		fi; \
	done
bench: bench-netns bench-ipvs bench-config bench-config-lab bench-dr-path bench-scale
	@python3 bench/table.py target/bench

bench-netns: build bench-layout
	mkdir -p target/bench
	VIGIL_BIN=$(abspath $(BENCH_BIN)) BENCH_OUT=$(abspath target/bench) \
		cargo test --locked --test it -- netns_bench:: --ignored --nocapture --test-threads=1

# The probe runs inside the VM: static, like the appliance's vigil.
bench-probe:
	$(STATIC) cargo build --release --locked --target $(TARGET) --example bench_probe

bench-ipvs: lab-image bench-probe bench-layout
	mkdir -p target/bench
	cd lab && VLAB_PREFIX=$(BENCH_VLAB_PREFIX) $(LAB_PY) -m vlab.bench \
		--probe $(abspath $(BENCH_PROBE)) --out $(abspath target/bench) \
		$(if $(BENCH_ALT),--alt-vigil $(abspath $(BENCH_ALT)))

# 3. bench/config_scale.py: time and peak RSS of `vigil config check`,
#    `vigil config import` (into a store the size of the image's
#    partition) and of a reload in a running daemon (in a namespace of its
#    own), against keepalived -t, at 1,000, 10,000 and 100,000
#    destinations (the bound). About 2 minutes (93 s measured).
bench-config: build
	mkdir -p target/bench
	python3 bench/config_scale.py $(abspath $(BENCH_BIN)) $(abspath target/bench)

# 4. The same reload at the bound in the lab VM (1 GB, ip_vs loaded: the
#    reload's pass programs the kernel, which the host cannot), against
#    keepalived -t there (lab/vlab/bench.py, `reload`, 6 reloads). About
#    6 minutes under TCG (165 s measured with 2 runs and 2 reloads; a
#    keepalived -t takes 12 s, a reload about 35 s).
bench-config-lab: lab-image bench-probe bench-layout
	mkdir -p target/bench
	cd lab && VLAB_PREFIX=$(BENCH_VLAB_PREFIX) $(LAB_PY) -m vlab.bench --only reload \
		--probe $(abspath $(BENCH_PROBE)) --out $(abspath target/bench)

# 5. DR-path checks' cost (issue 18): vigil's CPU per check for 1,000
#    TCP_CHECKs of a DR real server by the DR path against the same checks
#    to its own address, in the lab VM (lab/vlab/bench.py, `drpath`).
#    About 5 minutes (4 minutes measured with 2 windows).
bench-dr-path: lab-image bench-probe bench-layout
	mkdir -p target/bench
	cd lab && VLAB_PREFIX=$(BENCH_VLAB_PREFIX) $(LAB_PY) -m vlab.bench --only drpath \
		--probe $(abspath $(BENCH_PROBE)) --out $(abspath target/bench)

# 6. The scaling curve (issue 15): vigil's cold start, no-op pass after a
#    restart, no-change reload and RSS, keepalived's cold start and RSS, at
#    1,000, 10,000 and 100,000 destinations (the bound), no checkers, and
#    at the bound the idle daemon's CPU over 40 s, both daemons, in one
#    lab VM of 1 GB (lab/vlab/bench_scale.py): target/bench/scale.json,
#    scale.md (the table and the growth exponents), scale.svg (log-log).
#    About 16 minutes under TCG on a slow build box (5 runs at each size:
#    103 s, 118 s and 736 s measured, the bound with its 40 s windows).
bench-scale: lab-image bench-probe bench-layout
	mkdir -p target/bench
	cd lab && VLAB_PREFIX=$(BENCH_VLAB_PREFIX) $(LAB_PY) -m vlab.bench --only scale \
		--probe $(abspath $(BENCH_PROBE)) --out $(abspath target/bench)

# 7. Not part of `make bench`: a diagnostic of the checks bench on the host
#    (bench/checks_host.py): the same 1,000 TCP_CHECKs at delay_loop 1 to
#    a listener on loopback in a namespace of its own, vigil (and the
#    binary in BENCH_BEFORE first, if set) against keepalived (its IPVS
#    answered by bench/ipvs_shim.c: the host has no ip_vs), user and sys
#    CPU per check and, with BENCH_STRACE=S, system calls per check by
#    name (`strace -c`). The host runs the kernel's TCP at full speed and
#    user code natively: its ratios are not the lab VM's (TCG). About 40 s
#    (80 s with BENCH_STRACE=10).
BENCH_STRACE ?= 0
bench-checks-host: build
	mkdir -p target/bench
	python3 bench/checks_host.py $(abspath $(BENCH_BIN)) --strace $(BENCH_STRACE) \
		$(if $(BENCH_BEFORE),--before $(abspath $(BENCH_BEFORE))) \
		--json $(abspath target/bench/checks_host.json)

# Reprint the summary from the last run's JSON files (the runs print their own).
bench-table:
	@python3 bench/table.py target/bench
