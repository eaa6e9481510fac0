# `make demo`: the three-unit live demo (see README.md); `make demo-bgp`: the
# routed one, three units on three subnets announcing the VIP by BGP to an
# FRR router. Included from the Makefile (`include scripts/demo.mk`); also
# run on their own: `make -f scripts/demo.mk demo`. Need root (network
# namespaces).
#
# One build: the demo harness and the charm it deploys come from the same
# cargo invocation (the test profile `make test` uses too), while the Debian
# packages install alongside it. The charm is packed from that build into
# build/demo/ and unpacked into each unit as Juju would.
#   DEMO_PROFILE=release  deploy a charm packed from the release build instead
#                         (what `make charm` ships; a second, slower build)
CARGO ?= cargo
TARGET_DIR ?= $(or $(CARGO_TARGET_DIR),target)
DEMO_PROFILE ?= dev
DEMO_DIR ?= build/demo
DEMO_BINARY = $(TARGET_DIR)/$(if $(filter dev,$(DEMO_PROFILE)),debug,$(DEMO_PROFILE))/k8s-vip

.PHONY: demo demo-deps demo-build demo-run demo-bgp demo-bgp-build demo-bgp-run

demo:
	@if [ "$$(id -u)" != 0 ]; then \
	  echo "make demo needs root: it creates network namespaces, a bridge and a virtual IP (all removed at the end). Run: sudo make demo" >&2; \
	  exit 2; \
	fi
	@$(MAKE) --no-print-directory -f scripts/demo.mk -j2 demo-deps demo-build
	@$(MAKE) --no-print-directory -f scripts/demo.mk demo-run

## demo-deps: haproxy, iproute2, zip, unzip, openssl ... (only what is missing)
demo-deps:
	scripts/install-deps --packages-only

## demo-build: the demo harness, the charm binary and the fake Juju tools
demo-build:
	$(CARGO) test --locked --test demo --no-run
ifneq ($(DEMO_PROFILE),dev)
	$(CARGO) build --locked --profile $(DEMO_PROFILE) --bin k8s-vip
endif

## demo-run: pack the charm from the build, then the demo alone (root)
demo-run:
	@charm=$$(scripts/pack-charm $(DEMO_BINARY) $(DEMO_DIR) | tail -n 1) && \
	  K8S_VIP_DEMO=1 K8S_VIP_DEMO_CHARM="$$charm" $(CARGO) test --locked --test demo

demo-bgp:
	@if [ "$$(id -u)" != 0 ]; then \
	  echo "make demo-bgp needs root: it creates network namespaces, an FRR router and a virtual IP (all removed at the end). Run: sudo make demo-bgp" >&2; \
	  exit 2; \
	fi
	@$(MAKE) --no-print-directory -f scripts/demo.mk -j2 demo-deps demo-bgp-build
	@$(MAKE) --no-print-directory -f scripts/demo.mk demo-bgp-run

## demo-bgp-build: the BGP demo harness, the charm binary and the fake Juju tools
demo-bgp-build:
	$(CARGO) test --locked --test demo_bgp --no-run
ifneq ($(DEMO_PROFILE),dev)
	$(CARGO) build --locked --profile $(DEMO_PROFILE) --bin k8s-vip
endif

## demo-bgp-run: pack the charm from the build, then the BGP demo alone (root)
demo-bgp-run:
	@charm=$$(scripts/pack-charm $(DEMO_BINARY) $(DEMO_DIR) | tail -n 1) && \
	  K8S_VIP_DEMO_BGP=1 K8S_VIP_DEMO_CHARM="$$charm" $(CARGO) test --locked --test demo_bgp
