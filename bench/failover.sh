#!/usr/bin/env bash
# Failover benchmark: k8s-vip agent vs keepalived in a network-namespace lab.
# Needs root, keepalived, iproute2. Prints a Markdown table.
#   BENCH_TRIALS=10 BENCH_INTERVALS_MS=1000,100 PROFILE=release bench/failover.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
    echo "bench/failover.sh: needs root (network namespaces)" >&2
    exit 1
fi
PROFILE="${PROFILE:-release}"
exec cargo test --profile "$PROFILE" --test agent_bench_failover -- --ignored --nocapture --test-threads 1
