# `make bench`: vigil against keepalived 2.2.7, side by side, in network
# namespaces (needs root; scripts/install-deps installs keepalived).
# Included from the root Makefile, which defines `build` (the static
# release binary, $(BIN)): that is the vigil measured here.
# Figures: target/bench/<name>.json, and a table on stdout. Bounded to
# about 13 minutes by the driver (tests/netns_bench.rs); informative only.

BENCH_BIN ?= $(if $(BIN),$(BIN),target/x86_64-unknown-linux-gnu/release/vigil)

.PHONY: bench bench-table
bench: build
	mkdir -p target/bench
	VIGIL_BIN=$(abspath $(BENCH_BIN)) BENCH_OUT=$(abspath target/bench) \
		cargo test --locked --test netns_bench -- --ignored --nocapture --test-threads=1

# Reprint the table from the last run's JSON files (the run prints its own).
bench-table:
	@bash bench/table.sh target/bench
