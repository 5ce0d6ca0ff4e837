# orchlog — `make demo` runs it, `make test` tests it (both install what they need).
SHELL := /bin/bash
SWIFT ?= swift
PREFIX ?= /usr/local
RELEASE_BIN := .build/release
DEBUG_BIN := .build/debug
DEMO_DIR ?= data/demo

.PHONY: deps build release test test-unit test-python test-rules demo bench bench-peers clean

deps:
	@scripts/deps.sh

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

## Builds everything and runs every test: Swift tests (unit and end-to-end, which run the
## built binaries with the real promtool, prometheus and curl), the Python client's tests (a
## fresh venv, through the real relay and collector), then the rule and dashboard checks.
test: deps
	@scripts/dgram-queue.sh
	$(SWIFT) build --build-tests
	ORCHLOG_BIN_DIR=$(CURDIR)/$(DEBUG_BIN) $(SWIFT) test --skip-build
	@$(MAKE) --no-print-directory test-python test-rules

## The Python client (clients/python): installed offline into a fresh venv, its pytest suite
## run against the built binaries.
test-python: deps
	ORCHLOG_BIN_DIR=$(CURDIR)/$(DEBUG_BIN) scripts/test-python.sh

test-rules: deps
	scripts/check-alerts.sh
	python3 scripts/check-dashboards.py

## Writes synthetic orchestrator events and serves them as metrics; Ctrl-C stops both.
demo: release
	@scripts/demo.sh $(RELEASE_BIN) $(DEMO_DIR)

## Benchmarks against the physical limits (BENCHMARKS.md); `make bench BENCH_ARGS=--quick` for a smoke run.
bench: release
	$(RELEASE_BIN)/orchlog-bench $(BENCH_ARGS)

## The same events through the peers people use today (mtail, Python prometheus_client), side by
## side in one run; installs them from Debian/PyPI when missing.
bench-peers: release
	bench/peers.sh $(RELEASE_BIN)

clean:
	rm -rf .build data

## Installs the executables, rules, dashboards, docs, deploy files and the systemd unit:
##   make install [PREFIX=/usr/local] [DESTDIR=] [BIN_DIR=.build/release]
## BIN_DIR defaults to the release build (built first); point it at an existing build
## directory to install those binaries instead. Installed configs have /usr/local replaced
## by PREFIX. `make uninstall` with the same PREFIX and DESTDIR removes exactly that.
BIN_DIR ?= $(RELEASE_BIN)
DESTDIR ?=
INSTALL ?= install
INSTALL_BINS := orchlog orchlog-collector reference-orchestrator
INSTALL_BIN_DIR = $(DESTDIR)$(PREFIX)/bin
INSTALL_SHARE_DIR = $(DESTDIR)$(PREFIX)/share/orchlog
INSTALL_UNIT_DIR = $(DESTDIR)$(PREFIX)/lib/systemd/system
# Rewrites the /usr/local paths in configs and units for PREFIX.
INSTALL_SED = sed -e 's|/usr/local/|$(PREFIX)/|g'

.PHONY: install uninstall

install: $(if $(filter $(RELEASE_BIN),$(BIN_DIR)),release)
	@for b in $(INSTALL_BINS); do test -x "$(BIN_DIR)/$$b" || { echo "install: $(BIN_DIR)/$$b is missing (build it, or set BIN_DIR)" >&2; exit 1; }; done
	$(INSTALL) -d $(INSTALL_BIN_DIR) $(INSTALL_UNIT_DIR) \
		$(INSTALL_SHARE_DIR)/rules $(INSTALL_SHARE_DIR)/dashboards $(INSTALL_SHARE_DIR)/docs \
		$(INSTALL_SHARE_DIR)/systemd $(INSTALL_SHARE_DIR)/clients \
		$(INSTALL_SHARE_DIR)/deploy/prometheus $(INSTALL_SHARE_DIR)/deploy/kubernetes \
		$(INSTALL_SHARE_DIR)/deploy/grafana/provisioning/datasources \
		$(INSTALL_SHARE_DIR)/deploy/grafana/provisioning/dashboards
	$(INSTALL) -m 0755 $(addprefix $(BIN_DIR)/,$(INSTALL_BINS)) $(INSTALL_BIN_DIR)/
	$(INSTALL) -m 0644 alerts/*.rules.yml $(INSTALL_SHARE_DIR)/rules/
	$(INSTALL) -m 0644 dashboards/*.json $(INSTALL_SHARE_DIR)/dashboards/
	$(INSTALL) -m 0644 README.md docs/*.md docs/*.png $(INSTALL_SHARE_DIR)/docs/
	find clients/python -type f ! -path '*/__pycache__/*' ! -path '*/.pytest_cache/*' ! -path '*.egg-info/*' ! -path '*/build/*' \
		-exec $(INSTALL) -D -m 0644 {} $(INSTALL_SHARE_DIR)/{} \;
	$(INSTALL) -m 0644 deploy/kubernetes/*.yaml $(INSTALL_SHARE_DIR)/deploy/kubernetes/
	$(INSTALL_SED) deploy/systemd/orchlog-collector.service > $(INSTALL_UNIT_DIR)/orchlog-collector.service
	$(INSTALL_SED) deploy/systemd/orchestrator-logdir.conf > $(INSTALL_SHARE_DIR)/systemd/orchestrator-logdir.conf
	$(INSTALL_SED) deploy/prometheus/prometheus.yml > $(INSTALL_SHARE_DIR)/deploy/prometheus/prometheus.yml
	for f in agent.yml agent.default receiver.yml receiver.default; do \
		$(INSTALL_SED) deploy/prometheus/$$f > $(INSTALL_SHARE_DIR)/deploy/prometheus/$$f && chmod 0644 $(INSTALL_SHARE_DIR)/deploy/prometheus/$$f; done
	$(INSTALL_SED) deploy/grafana/provisioning/datasources/orchlog.yml > $(INSTALL_SHARE_DIR)/deploy/grafana/provisioning/datasources/orchlog.yml
	$(INSTALL_SED) deploy/grafana/provisioning/dashboards/orchlog.yml > $(INSTALL_SHARE_DIR)/deploy/grafana/provisioning/dashboards/orchlog.yml
	chmod 0644 $(INSTALL_UNIT_DIR)/orchlog-collector.service $(INSTALL_SHARE_DIR)/systemd/orchestrator-logdir.conf \
		$(INSTALL_SHARE_DIR)/deploy/prometheus/prometheus.yml $(INSTALL_SHARE_DIR)/deploy/grafana/provisioning/*/orchlog.yml
	@echo "installed into $(DESTDIR)$(PREFIX) (systemd: systemctl daemon-reload; see share/orchlog/docs/deploying.md)"

uninstall:
	rm -f $(addprefix $(INSTALL_BIN_DIR)/,$(INSTALL_BINS)) $(INSTALL_UNIT_DIR)/orchlog-collector.service
	rm -rf $(INSTALL_SHARE_DIR)

## Reliability suite (RELIABILITY.md): the long versions of what `make test` runs briefly.
##   make test-crash [CRASH_ITERATIONS=200]   SIGKILL loops: writer per fsync policy, collector
##   make test-load [LOAD_SECONDS=30]         50 wrk clients scrape while the collector ingests
##   make fuzz [FUZZ_SECONDS=60]              libFuzzer + ASan on the decoders and parsers
##   make soak [SOAK_SECONDS=300]             orchestrator + retention + collector, ≤ 600 s
##   make test-detection                      every fault at real pace through Prometheus, ~31 min
CRASH_ITERATIONS ?= 200
LOAD_SECONDS ?= 30
FUZZ_SECONDS ?= 60
SOAK_SECONDS ?= 300

.PHONY: test-crash test-load fuzz soak test-detection

## The children are the release binaries (writing at full speed, as in production; overflow
## checks stay on in release builds); the test runner is the debug build.
test-crash: release
	$(SWIFT) build --build-tests
	ORCHLOG_CRASH_ITERATIONS=$(CRASH_ITERATIONS) ORCHLOG_BIN_DIR=$(CURDIR)/$(RELEASE_BIN) $(SWIFT) test --skip-build --filter CrashTests

test-load: release
	@scripts/deps.sh wrk
	$(SWIFT) build --build-tests
	ORCHLOG_LOAD=1 ORCHLOG_LOAD_SECONDS=$(LOAD_SECONDS) ORCHLOG_BIN_DIR=$(CURDIR)/$(RELEASE_BIN) $(SWIFT) test --skip-build --filter LoadTests

## Needs only the Swift toolchain (it ships libFuzzer and the ASan runtime; no libclang-rt
## package); builds into .build-fuzz with ORCHLOG_FUZZ=1 so the normal build is unaffected.
fuzz: deps
	scripts/fuzz.sh $(FUZZ_SECONDS)

soak: release
	scripts/soak.sh $(SOAK_SECONDS) $(RELEASE_BIN)

## Detection at real pace (docs/alerts.md): every fault scenario at --speed 1 (12,000 and
## 120,000/day), pilot and production-hardened, all in parallel, each through its own collector
## and Prometheus with the shipped rules; ~31 minutes. Writes data/detection/detection.{md,json}
## and fails when a detection target is missed. DETECTION_ARGS: e.g. --only memory-slowdown.
DETECTION_ARGS ?=

test-detection: build
	scripts/test-detection.py --bin-dir $(CURDIR)/$(DEBUG_BIN) $(DETECTION_ARGS)
