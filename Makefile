# Thin wrappers over cargo and scripts/ (see README.md).
.PHONY: all charm release-check test deps demo bench clean

CARGO ?= cargo
TARGET_DIR ?= $(or $(CARGO_TARGET_DIR),target)
# What `make charm` packs: the charm that ships.
SHIPPED_CHARM = build/k8s-vip_ubuntu-22.04-amd64_ubuntu-24.04-amd64.charm
# Tests that cannot run here (no root, a program missing) record themselves
# here (tests/support/skip.rs); `make test` ends with their count.
SKIP_LOG = $(TARGET_DIR)/tmp/skipped-tests.tsv

all: charm

## deps: install missing Debian packages and the charmcraft venv (idempotent)
deps:
	scripts/install-deps

## charm: release build and build/k8s-vip_*.charm (its path is printed last)
charm:
	scripts/install-deps --packages-only
	$(CARGO) build --release --locked --bin k8s-vip
	scripts/pack-charm $(TARGET_DIR)/release/k8s-vip build

## release-check: `make charm`, then the packaging checks on the charm it packed
release-check: charm
	K8S_VIP_SHIPPED_CHARM=$(CURDIR)/$(SHIPPED_CHARM) $(CARGO) test --locked --test packaging

## test: formatting, lints, every test (one shared debug build), a one-trial
## run of every benchmark (bench-smoke), then the count of skipped tests (K8S_VIP_REQUIRE_ALL=1 makes any skip a failure)
test: deps
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --locked --all-targets -- -D warnings
	@rm -f $(SKIP_LOG)
	$(CARGO) test --locked || { scripts/skip-summary $(SKIP_LOG); exit 1; }
	$(MAKE) --no-print-directory -f bench/bench.mk bench-smoke
	@scripts/skip-summary $(SKIP_LOG)

clean:
	rm -rf build/charm-stage build/*.charm
	$(CARGO) clean

# The live demo (root) and the side-by-side benchmarks.
include scripts/demo.mk
include bench/bench.mk
