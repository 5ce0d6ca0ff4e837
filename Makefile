# orchlog — `make demo` runs it, `make test` tests it (both install what they need).
SHELL := /bin/bash
SWIFT ?= swift
PREFIX ?= /usr/local
RELEASE_BIN := .build/release
DEBUG_BIN := .build/debug
DEMO_DIR ?= data/demo

.PHONY: deps build release test test-unit test-rules demo bench clean

deps:
	@scripts/deps.sh

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

## Builds everything and runs every test: Swift tests (unit and end-to-end, which run the
## built binaries with the real promtool, prometheus and curl), then the rule and dashboard checks.
test: deps
	$(SWIFT) build --build-tests
	ORCHLOG_BIN_DIR=$(CURDIR)/$(DEBUG_BIN) $(SWIFT) test --skip-build
	@$(MAKE) --no-print-directory test-rules

test-rules: deps
	scripts/check-alerts.sh
	python3 scripts/check-dashboards.py

## Writes synthetic orchestrator events and serves them as metrics; Ctrl-C stops both.
demo: release
	@scripts/demo.sh $(RELEASE_BIN) $(DEMO_DIR)

bench: release
	$(RELEASE_BIN)/orchlog-bench

clean:
	rm -rf .build data
