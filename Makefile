# vigil: build, test and run the lab. `make test` is what CI runs.
SHELL := /bin/bash
TARGET := x86_64-unknown-linux-gnu
STATIC := RUSTFLAGS='-C target-feature=+crt-static'
BIN := target/$(TARGET)/release/vigil

.PHONY: all build test unit fmt-check clippy fuzz-build figures clean
all: build

# The appliance binary: static-pie, size-tuned release profile.
build: $(BIN)
$(BIN): Cargo.toml Cargo.lock $(shell find src -name '*.rs')
	$(STATIC) cargo build --release --locked --target $(TARGET)

# Everything: unit, integration, namespace and lab tests.
test: fmt-check clippy unit
	@echo "make test: all passed"

unit:
	cargo test --locked --all-targets

fmt-check:
	cargo fmt --all -- --check

clippy:
	cargo clippy --locked --all-targets -- -D warnings

# Figures for notes: encoded config sizes, import speed, binary size.
figures: build
	cargo run --release --locked --example figures
	@echo "release binary: $$(stat -c %s $(BIN)) bytes"

# Build every fuzz target (cargo-fuzz, nightly).
fuzz-build:
	cd fuzz && cargo +nightly fuzz build

clean:
	cargo clean

-include lab/lab.mk
