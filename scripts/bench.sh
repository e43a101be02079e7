#!/usr/bin/env bash
# Load benchmark (issue 18): installs wrk from Debian's archive if it is missing, builds the
# release binaries (vpcgate and the bare-hyper baseline), then runs scripts/bench.py, which
# prints req/s, p50/p99, the ratio to bare hyper and RSS per row. Arguments go to bench.py
# (--secs 10 --runs 3 --rows bare-hyper,rest,sync-b,sync-a --json).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq wrk >/dev/null
  else sudo apt-get update -qq && sudo apt-get install -y -qq wrk >/dev/null; fi
fi
python3 -c 'import boto3' 2>/dev/null || python3 -m pip install -q boto3
cargo build --release --locked -q -p vpcgate --bin vpcgate --example bare_hyper
exec python3 scripts/bench.py "$@"
