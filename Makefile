# Thin wrappers over cargo and scripts/ (see README.md).
.PHONY: all charm test deps demo bench clean

CARGO ?= cargo
TARGET_DIR ?= $(or $(CARGO_TARGET_DIR),target)

all: charm

## deps: install missing Debian packages and the charmcraft venv (idempotent)
deps:
	scripts/install-deps

## charm: release build and build/k8s-vip_*.charm (its path is printed last)
charm:
	scripts/install-deps --packages-only
	$(CARGO) build --release --locked --bin k8s-vip
	scripts/pack-charm $(TARGET_DIR)/release/k8s-vip build

## test: formatting, lints and every test (one shared debug build)
test: deps
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --locked --all-targets -- -D warnings
	$(CARGO) test --locked

clean:
	rm -rf build/charm-stage build/*.charm
	$(CARGO) clean

# The live demo (root) and the side-by-side benchmarks.
include scripts/demo.mk
include bench/bench.mk
