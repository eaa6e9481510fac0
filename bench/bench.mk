# `make bench`: k8s-vip side by side with the alternatives, same machine, same run.
# Included from the Makefile (`include bench/bench.mk`); also runs on its own:
# `make -f bench/bench.mk bench`. Needs root for the network-namespace parts
# (failover, footprint); the hook-cost part runs anywhere.
#   BENCH_RUNS        hook-cost runs per hook (default 15)
#   BENCH_TRIALS      failover trials per cell (default 10)
#   BENCH_FOOTPRINT_S footprint window in seconds (default 60)
CARGO ?= cargo
BENCH_RUNS ?= 15
BENCH_TRIALS ?= 10
BENCH_FOOTPRINT_S ?= 60
BENCH_BIN := $(CARGO) bench --locked --bench k8s-vip-bench --

.PHONY: bench bench-deps bench-hooks bench-footprint bench-failover-table bench-report

bench: bench-deps
	$(MAKE) -f bench/bench.mk bench-failover-table bench-hooks bench-footprint
	$(BENCH_BIN) report

## bench-deps: root check, then keepalived, haproxy, iproute2, python3-venv...
bench-deps:
	@if [ "$$(id -u)" != 0 ]; then \
	  echo "make bench needs root: the failover and footprint parts run VRRP in network namespaces. Run: sudo make bench (or make -f bench/bench.mk bench-hooks alone)" >&2; \
	  exit 2; \
	fi
	scripts/install-deps --packages-only

## bench-hooks: config-changed/update-status cost, k8s-vip vs a Python ops charm
bench-hooks:
	$(BENCH_BIN) hook-cost $(BENCH_RUNS)

## bench-footprint: agent RSS and CPU per hour at 100 ms adverts vs keepalived (root)
bench-footprint:
	$(BENCH_BIN) footprint $(BENCH_FOOTPRINT_S)

## bench-failover-table: the agent's failover benchmark (bench/failover.sh), as a table;
# it also draws the median trial of each cell as build/bench/failover-<impl>-<interval>-<mode>.svg
# (+ .json events, + .png when rsvg-convert is installed)
bench-failover-table:
	@mkdir -p build/bench
	BENCH_TRIALS=$(BENCH_TRIALS) bench/failover.sh 2>&1 | tee build/bench/failover.log
	$(BENCH_BIN) import-failover build/bench/failover.log

bench-report:
	$(BENCH_BIN) report
