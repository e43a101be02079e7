#!/usr/bin/env bash
# The project's test command (README: "Run the tests"). Installs what the tests need that a fresh
# machine may lack, then runs the whole suite and the bundled scenarios.
set -euo pipefail
cd "$(dirname "$0")/.."

# Real AWS clients the tests drive (botocore signs requests; boto3 / the AWS CLI call `serve`).
if ! python3 -c 'import botocore, boto3' >/dev/null 2>&1; then
  python3 -m pip install --quiet --disable-pip-version-check boto3 botocore awscli
fi

cargo test --workspace --locked
cargo run --quiet --locked -p vpcgate -- check scenarios/
