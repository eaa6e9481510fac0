# `make demo`: the three-unit live demo (see README.md). Included from the
# Makefile (`include scripts/demo.mk`); also runs on its own:
# `make -f scripts/demo.mk demo`. Needs root (network namespaces).
CARGO ?= cargo
TARGET_DIR ?= $(or $(CARGO_TARGET_DIR),target)

.PHONY: demo demo-run

demo:
	@if [ "$$(id -u)" != 0 ]; then \
	  echo "make demo needs root: it creates network namespaces, a bridge and a virtual IP (all removed at the end). Run: sudo make demo" >&2; \
	  exit 2; \
	fi
	$(MAKE) -f Makefile charm
	$(MAKE) -f scripts/demo.mk demo-run

## demo-run: the demo alone, with the release binary `make charm` built
demo-run:
	K8S_VIP_DEMO=1 K8S_VIP_DEMO_BINARY=$(TARGET_DIR)/release/k8s-vip \
	  $(CARGO) test --locked --test demo
