# `make bench`: k8s-vip side by side with the alternatives, same machine, same
# run. Included from the Makefile (`include bench/bench.mk`); also runs on its
# own: `make -f bench/bench.mk bench`. Every part writes its result file under
# bench/results/ (machine, versions, date, command, build, raw samples, tables);
# `make bench` then renders the docs' tables from them (bench-docs). Needs root
# for the network-namespace parts (failover, footprint, syscalls, starvation, lb).
#   BENCH_TRIALS          failover trials per cell (default 10)
#   BENCH_INTERVALS_MS    failover advert intervals (default 1000,100)
#   BENCH_RUNS            hook-cost runs per hook (default 15)
#   BENCH_TOOL_LATENCY_MS hook-cost: latency of each hook-tool call (default 10)
#   BENCH_HOOK_UNITS      hook-cost: units in the simulated model (default 3)
#   BENCH_FOOTPRINT_S     footprint window per run in seconds (default 60)
#   BENCH_FOOTPRINT_RUNS  footprint runs with each program as master (default 3)
#   BENCH_SYSCALLS_S      strace window per run in seconds (default 10)
#   BENCH_SYSCALLS_RUNS   strace runs with each program as master (default 3)
#   BENCH_STARVATION_S    starvation: seconds of stress-ng load (default 40)
#   BENCH_VRRP_ITERS      per-advert cost: iterations per run (default 1000000)
#   BENCH_LB_ROUNDS       HAProxy overhead: rounds (default 10), each of
#   BENCH_LB_CONNECTS     new connections per path (default 100) and
#   BENCH_LB_ROUNDTRIPS   round trips per path on an open connection (default 500)
#   BENCH_BGP_TRIALS      BGP crash failover: trials per cell (default 5)
#   BENCH_BGP_CELLS       its cells (default bfd,hold,ecmp-bfd)
#   BENCH_BGP_OBSERVE_S   its bound on one failover in seconds (default 180;
#                         a trial still forwarding to the dead unit then is censored)
#   BENCH_PROFILE         cargo profile of the measured build (default bench = release settings)
#   BENCH_RESULTS_DIR     where result files go (default bench/results)
# `make bench-smoke`: every part once with one short trial (dev build, results
# under build/bench-smoke/, marked as a smoke run); parts that need root or a
# missing program print `SKIPPED: ... needs ...` and succeed, unless
# K8S_VIP_REQUIRE_ALL=1, where a skip fails.
CARGO ?= cargo
BENCH_TRIALS ?= 10
BENCH_INTERVALS_MS ?= 1000,100
BENCH_RUNS ?= 15
BENCH_TOOL_LATENCY_MS ?= 10
BENCH_HOOK_UNITS ?= 3
BENCH_FOOTPRINT_S ?= 60
BENCH_FOOTPRINT_RUNS ?= 3
BENCH_SYSCALLS_S ?= 10
BENCH_SYSCALLS_RUNS ?= 3
BENCH_VRRP_ITERS ?= 1000000
BENCH_STARVATION_S ?= 40
BENCH_LB_ROUNDS ?= 10
BENCH_LB_CONNECTS ?= 100
BENCH_LB_ROUNDTRIPS ?= 500
BENCH_BGP_TRIALS ?= 5
BENCH_BGP_CELLS ?= bfd,hold,ecmp-bfd
BENCH_BGP_OBSERVE_S ?= 180
BENCH_PROFILE ?= bench
BENCH_RESULTS_DIR ?= bench/results
BENCH_LOG_DIR ?= build/bench
BENCH_SMOKE ?= 0
# failover.sh runs a cargo test target: the release profile is the bench
# profile's settings (bench inherits release).
BENCH_FAILOVER_PROFILE ?= $(if $(filter dev,$(BENCH_PROFILE)),dev,release)
BENCH_ENV = BENCH_RESULTS_DIR=$(abspath $(BENCH_RESULTS_DIR)) BENCH_SMOKE=$(BENCH_SMOKE)
BENCH_CARGO = $(CARGO) bench --locked --profile $(BENCH_PROFILE)
BENCH_BIN = $(BENCH_CARGO) --bench k8s-vip-bench --

.PHONY: bench bench-deps bench-hooks bench-footprint bench-syscalls bench-vrrp \
	bench-failover bench-failover-table bench-starvation bench-lb bench-bgp bench-docs bench-report bench-smoke

bench: bench-deps
	$(MAKE) -f bench/bench.mk bench-failover bench-hooks bench-footprint bench-syscalls bench-vrrp \
	  bench-starvation bench-lb bench-bgp
	$(MAKE) -f bench/bench.mk bench-docs
	$(BENCH_ENV) $(BENCH_BIN) report

## bench-deps: root check, then keepalived, haproxy, strace, iproute2, python3-venv...
bench-deps:
	@if [ "$$(id -u)" != 0 ]; then \
	  echo "make bench needs root: the failover, footprint and syscall parts run VRRP in network namespaces. Run: sudo make bench (or make -f bench/bench.mk bench-hooks bench-vrrp alone)" >&2; \
	  exit 2; \
	fi
	scripts/install-deps --packages-only

## bench-hooks: config-changed/update-status cost and hook-tool calls, k8s-vip vs a Python ops charm
bench-hooks:
	$(BENCH_ENV) BENCH_TOOL_LATENCY_MS=$(BENCH_TOOL_LATENCY_MS) BENCH_HOOK_UNITS=$(BENCH_HOOK_UNITS) \
	  $(BENCH_BIN) hook-cost $(BENCH_RUNS)

## bench-footprint: agent RSS/PSS/USS and CPU per hour at 100 ms adverts vs keepalived, also
# with BFD 20 ms × 3 (root; FRR's bfdd is the BFD partner beside keepalived)
bench-footprint:
	$(BENCH_ENV) $(BENCH_BIN) footprint $(BENCH_FOOTPRINT_S) $(BENCH_FOOTPRINT_RUNS)

## bench-syscalls: idle-loop syscalls per advert (strace -c) vs keepalived (root)
bench-syscalls:
	$(BENCH_ENV) $(BENCH_BIN) syscalls $(BENCH_SYSCALLS_S) $(BENCH_SYSCALLS_RUNS)

## bench-vrrp: per-advert cost of the VRRP core (benches/vrrp.rs)
bench-vrrp:
	$(BENCH_ENV) BENCH_VRRP_ITERS=$(BENCH_VRRP_ITERS) $(BENCH_CARGO) --bench vrrp

## bench-failover: the agent's failover benchmark (bench/failover.sh) → result file;
# fails when any trial fails or is missing. It also draws the median trial of
# each cell as $(BENCH_LOG_DIR)/failover-<impl>-<interval>-<mode>.svg (+ .json
# events, + .png when rsvg-convert is installed); the raw log stays in
# $(BENCH_LOG_DIR)/failover.log.
bench-failover:
	@mkdir -p $(BENCH_LOG_DIR)
	@if [ "$$(id -u)" != 0 ] || ! command -v keepalived >/dev/null; then \
	  msg="SKIPPED: bench failover: needs root (network namespaces) and keepalived installed"; \
	  if [ "$${K8S_VIP_REQUIRE_ALL:-}" = 1 ]; then echo "$$msg (K8S_VIP_REQUIRE_ALL=1 makes a skip a failure)" >&2; exit 1; fi; \
	  echo "$$msg" >&2; exit 0; \
	fi; \
	set -e; \
	echo "bench/failover.sh: BENCH_TRIALS=$(BENCH_TRIALS) BENCH_INTERVALS_MS=$(BENCH_INTERVALS_MS) PROFILE=$(BENCH_FAILOVER_PROFILE)"; \
	BENCH_TRIALS=$(BENCH_TRIALS) BENCH_INTERVALS_MS=$(BENCH_INTERVALS_MS) PROFILE=$(BENCH_FAILOVER_PROFILE) \
	  BENCH_TIMELINE_DIR=$(abspath $(BENCH_LOG_DIR)) \
	  bash -o pipefail -c 'bench/failover.sh 2>&1 | tee $(BENCH_LOG_DIR)/failover.log'; \
	$(BENCH_ENV) BENCH_TRIALS=$(BENCH_TRIALS) BENCH_INTERVALS_MS=$(BENCH_INTERVALS_MS) \
	  $(BENCH_BIN) import-failover $(BENCH_LOG_DIR)/failover.log

## bench-starvation: 3 agents with BFD 20 ms × 3 under chrt -r 50 while stress-ng
# (--cpu 4 --io 2 --vm 2 --vm-bytes 512M) loads the machine for
# BENCH_STARVATION_S; counts false failovers and BFD contradicted events (root).
bench-starvation:
	@mkdir -p $(BENCH_LOG_DIR)
	@if [ "$$(id -u)" != 0 ] || ! command -v stress-ng >/dev/null; then \
	  msg="SKIPPED: bench starvation: needs root (network namespaces) and stress-ng installed"; \
	  if [ "$${K8S_VIP_REQUIRE_ALL:-}" = 1 ]; then echo "$$msg (K8S_VIP_REQUIRE_ALL=1 makes a skip a failure)" >&2; exit 1; fi; \
	  echo "$$msg" >&2; exit 0; \
	fi; \
	set -e; \
	BENCH_STARVATION_S=$(BENCH_STARVATION_S) BENCH_STARVATION_OUT=$(abspath $(BENCH_LOG_DIR))/starvation.json \
	  $(CARGO) test --locked --profile $(BENCH_FAILOVER_PROFILE) --test bench_starvation -- --ignored --nocapture --test-threads 1; \
	$(BENCH_ENV) $(BENCH_BIN) import-starvation $(BENCH_LOG_DIR)/starvation.json

## bench-lb: what HAProxy adds (tests/lb_bench.rs): new connections, round trips
# and bulk throughput through VIP → HAProxy → backend vs straight to a backend,
# interleaved, BENCH_LB_ROUNDS rounds (root, haproxy).
bench-lb:
	@mkdir -p $(BENCH_LOG_DIR)
	@if [ "$$(id -u)" != 0 ] || ! command -v haproxy >/dev/null; then \
	  msg="SKIPPED: bench lb: needs root (network namespaces) and haproxy installed"; \
	  if [ "$${K8S_VIP_REQUIRE_ALL:-}" = 1 ]; then echo "$$msg (K8S_VIP_REQUIRE_ALL=1 makes a skip a failure)" >&2; exit 1; fi; \
	  echo "$$msg" >&2; exit 0; \
	fi; \
	set -e; \
	rm -f $(BENCH_LOG_DIR)/lb.json; \
	BENCH_LB_ROUNDS=$(BENCH_LB_ROUNDS) BENCH_LB_CONNECTS=$(BENCH_LB_CONNECTS) \
	  BENCH_LB_ROUNDTRIPS=$(BENCH_LB_ROUNDTRIPS) BENCH_LB_OUT=$(abspath $(BENCH_LOG_DIR))/lb.json \
	  $(CARGO) test --locked --profile $(BENCH_FAILOVER_PROFILE) --test lb_bench -- --ignored --nocapture --test-threads 1; \
	$(BENCH_ENV) $(BENCH_BIN) import-lb $(BENCH_LOG_DIR)/lb.json

## bench-bgp: crash failover through an FRR router in BGP mode (tests/bgp_bench.rs):
# BFD 100 ms x 3 on the BGP sessions vs the hold timer only (keepalive 3 s /
# hold 9 s), and ECMP vs one announcer; BENCH_BGP_TRIALS trials per cell of
# BENCH_BGP_CELLS, alternating (root, FRR).
bench-bgp:
	@mkdir -p $(BENCH_LOG_DIR)
	@if [ "$$(id -u)" != 0 ] || [ ! -x /usr/lib/frr/bgpd ] || [ ! -x /usr/lib/frr/bfdd ] || ! command -v vtysh >/dev/null; then \
	  msg="SKIPPED: bench bgp: needs root (network namespaces) and FRR (bgpd, bfdd, vtysh) installed"; \
	  if [ "$${K8S_VIP_REQUIRE_ALL:-}" = 1 ]; then echo "$$msg (K8S_VIP_REQUIRE_ALL=1 makes a skip a failure)" >&2; exit 1; fi; \
	  echo "$$msg" >&2; exit 0; \
	fi; \
	set -e; \
	rm -f $(BENCH_LOG_DIR)/bgp.json; \
	BENCH_BGP_TRIALS=$(BENCH_BGP_TRIALS) BENCH_BGP_CELLS=$(BENCH_BGP_CELLS) \
	  BENCH_BGP_OBSERVE_S=$(BENCH_BGP_OBSERVE_S) BENCH_BGP_OUT=$(abspath $(BENCH_LOG_DIR))/bgp.json \
	  $(CARGO) test --locked --profile $(BENCH_FAILOVER_PROFILE) --test bgp_bench -- --ignored --nocapture --test-threads 1; \
	$(BENCH_ENV) BENCH_BGP_TRIALS=$(BENCH_BGP_TRIALS) $(BENCH_BIN) import-bgp $(BENCH_LOG_DIR)/bgp.json

# The old name of bench-failover.
bench-failover-table: bench-failover

## bench-docs: render the docs' tables (<!-- bench:KEY:begin/end --> in README.md
# and docs/**/*.md) from bench/results/; a dev build, rendering measures nothing.
bench-docs:
	$(CARGO) bench --locked --profile dev --bench k8s-vip-bench -- render-docs

## bench-report: every table of the result files, without touching the docs
bench-report:
	$(BENCH_ENV) $(BENCH_BIN) report

## bench-smoke: every part once, one short trial each (dev build; results
# under build/bench-smoke/results, marked smoke). Keeps the benchmarks alive.
bench-smoke:
	$(MAKE) -f bench/bench.mk BENCH_SMOKE=1 BENCH_PROFILE=dev \
	  BENCH_RESULTS_DIR=build/bench-smoke/results BENCH_LOG_DIR=build/bench-smoke \
	  BENCH_TRIALS=1 BENCH_INTERVALS_MS=100 BENCH_RUNS=1 BENCH_TOOL_LATENCY_MS=2 BENCH_HOOK_UNITS=1 \
	  BENCH_FOOTPRINT_S=1 BENCH_FOOTPRINT_RUNS=1 BENCH_SYSCALLS_S=1 BENCH_SYSCALLS_RUNS=1 \
	  BENCH_VRRP_ITERS=20000 BENCH_STARVATION_S=3 \
	  BENCH_LB_ROUNDS=1 BENCH_LB_CONNECTS=20 BENCH_LB_ROUNDTRIPS=100 \
	  BENCH_BGP_TRIALS=1 BENCH_BGP_OBSERVE_S=15 \
	  bench-failover bench-starvation bench-lb bench-bgp bench-hooks bench-footprint bench-syscalls bench-vrrp bench-report
