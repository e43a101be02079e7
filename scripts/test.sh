#!/usr/bin/env bash
# The project's test command (README: "Run the tests"). Installs what the tests need that a fresh
# machine may lack, then runs the whole suite and the bundled scenarios.
set -euo pipefail
cd "$(dirname "$0")/.."

# Real AWS clients the tests drive (botocore signs requests; boto3 / the AWS CLI call `serve`).
if ! python3 -c 'import botocore, boto3' >/dev/null 2>&1; then
  python3 -m pip install --quiet --disable-pip-version-check boto3 botocore awscli
fi
# AWS's SAM translator expands `Transform: AWS::Serverless-2016-10-31` templates (scenario/sam.rs).
if ! python3 -c 'import samtranslator' >/dev/null 2>&1; then
  python3 -m pip install --quiet --disable-pip-version-check aws-sam-translator
fi
# PyYAML, the YAML reader of cfn-lint and the AWS CLI: tests/it/templates.rs compares
# scenario/yaml.rs with it (yaml_reads_as_pyyaml_reads_it).
if ! python3 -c 'import yaml' >/dev/null 2>&1; then
  python3 -m pip install --quiet --disable-pip-version-check PyYAML
fi
# pytest runs the README's example suite (examples/pytest) against the built binary.
if ! python3 -c 'import pytest' >/dev/null 2>&1; then
  python3 -m pip install --quiet --disable-pip-version-check pytest
fi

# docker-compose (Debian's, v1) validates docker-compose.yml without a Docker engine.
if ! command -v docker-compose >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq docker-compose >/dev/null
  else
    echo "scripts/test.sh: install docker-compose (apt-get install docker-compose) to validate docker-compose.yml" >&2
    exit 1
  fi
fi

# Debian's Chromium and ChromeDriver: the trace viewer's browser tests (tests/it/ui.rs) load
# /_vpcgate/ui in headless Chromium, and drive it with the keyboard through Selenium.
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver fonts-dejavu-core >/dev/null
  else
    echo "scripts/test.sh: install Debian's chromium and chromium-driver (apt-get install chromium chromium-driver) for the trace viewer's browser tests" >&2
    exit 1
  fi
fi
if ! python3 -c 'import selenium' >/dev/null 2>&1; then
  python3 -m pip install --quiet --disable-pip-version-check selenium
fi

# The cfn-lint corpus (tests/it/corpus_cfnlint.rs, README "The corpus"): real templates from
# cfn-lint's source distribution on PyPI, pinned by version and sha256, kept in a cache outside
# the tree (other projects' files are not committed).
CFNLINT_VERSION=1.58.0
CFNLINT_SHA256=ba02cd7f7e06c8bc160936051a03ec931af52943fcc9cc72ad2748caa0f2a103
CFNLINT_CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/vpcgate/cfn-lint-${CFNLINT_VERSION}"
if [ ! -d "$CFNLINT_CACHE/templates/good" ]; then
  rm -rf "$CFNLINT_CACHE" && mkdir -p "$CFNLINT_CACHE"
  python3 -m pip download --quiet --disable-pip-version-check --no-deps --no-binary :all: \
    "cfn-lint==${CFNLINT_VERSION}" -d "$CFNLINT_CACHE"
  echo "${CFNLINT_SHA256}  $CFNLINT_CACHE/cfn_lint-${CFNLINT_VERSION}.tar.gz" | sha256sum -c --quiet -
  tar xzf "$CFNLINT_CACHE/cfn_lint-${CFNLINT_VERSION}.tar.gz" -C "$CFNLINT_CACHE" \
    "cfn_lint-${CFNLINT_VERSION}/test/fixtures/templates"
  mv "$CFNLINT_CACHE/cfn_lint-${CFNLINT_VERSION}/test/fixtures/templates" "$CFNLINT_CACHE/templates"
  rm -rf "$CFNLINT_CACHE/cfn_lint-${CFNLINT_VERSION}"
fi
export VPCGATE_CFNLINT_TEMPLATES="$CFNLINT_CACHE/templates"

# The CDK corpus (tests/it/corpus_cdk.rs, README "The corpus"): CDK apps of our own
# (tests/fixtures/cdk/<app>/app.py) synthesized with the AWS CDK's Python distribution from PyPI,
# pinned by version and sha256 (tests/fixtures/cdk/requirements.txt), installed into a virtual
# environment in a cache outside the tree; its jsii runtime needs Node.js (Debian's nodejs). The
# templates are synthesized again only when the apps or the pins change (their hash names the
# folder).
if ! command -v node >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs >/dev/null
  else
    echo "scripts/test.sh: install Node.js (apt-get install nodejs): the AWS CDK synthesizes the CDK corpus with it" >&2
    exit 1
  fi
fi
CDK_VERSION=2.275.0
CDK_CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/vpcgate/cdk-${CDK_VERSION}"
CDK_APPS_HASH=$(cat tests/fixtures/cdk/requirements.txt tests/fixtures/cdk/*.py tests/fixtures/cdk/*/app.py | sha256sum | cut -c1-16)
CDK_OUT="$CDK_CACHE/templates-${CDK_APPS_HASH}"
if [ ! -f "$CDK_OUT/.complete" ]; then
  # The virtual environment holds exactly the pinned packages: made again when the pins change.
  if ! cmp -s tests/fixtures/cdk/requirements.txt "$CDK_CACHE/venv/requirements.txt"; then
    rm -rf "$CDK_CACHE/venv" && mkdir -p "$CDK_CACHE"
    if ! python3 -m venv "$CDK_CACHE/venv" >/dev/null 2>&1; then
      if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
        rm -rf "$CDK_CACHE/venv" && python3 -m venv "$CDK_CACHE/venv"
      else
        echo "scripts/test.sh: install Python's venv module (apt-get install python3-venv) for the CDK corpus" >&2
        exit 1
      fi
    fi
    "$CDK_CACHE/venv/bin/python" -m pip install --quiet --disable-pip-version-check \
      --require-hashes -r tests/fixtures/cdk/requirements.txt
    cp tests/fixtures/cdk/requirements.txt "$CDK_CACHE/venv/requirements.txt"
  fi
  rm -rf "$CDK_CACHE"/templates-* && mkdir -p "$CDK_OUT"
  for app in tests/fixtures/cdk/*/app.py; do
    name=$(basename "$(dirname "$app")")
    # `python3 app.py <outdir>` is `cdk synth` without the CLI (App(outdir=...)).
    if ! "$CDK_CACHE/venv/bin/python" "$app" "$CDK_OUT/$name" \
      >"$CDK_CACHE/synth-$name.log" 2>&1; then
      cat "$CDK_CACHE/synth-$name.log" >&2
      echo "scripts/test.sh: the CDK app $app does not synthesize" >&2
      exit 1
    fi
  done
  touch "$CDK_OUT/.complete"
fi
export VPCGATE_CDK_TEMPLATES="$CDK_OUT"

cargo test --workspace --locked
cargo test --locked -p vpcgate-tests --test it corpus_cfnlint -- --include-ignored
cargo test --locked -p vpcgate-tests --test it corpus_cdk -- --include-ignored
# Tests over other projects' files, which are not committed (README, "The corpus"): they run when
# the steering repository beside this checkout holds the files.
if [ -d ../shared/corpus ]; then
  cargo test --locked -p vpcgate-tests --test it corpus:: -- --include-ignored
fi
if [ -f ../shared/recorded/events-patterns.json ]; then
  cargo test --locked -p vpcgate --lib aws_recorded_pattern_cases -- --include-ignored
fi
cargo run --quiet --locked -p vpcgate -- check scenarios/
