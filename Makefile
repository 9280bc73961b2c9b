# One entry point for people and CI. `make run` starts everything locally,
# `make test` runs every test. Nothing needs installing by hand beyond Go,
# Java and Node.js (npm), which these machines have; see README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := help

FUNCTIONS := $(notdir $(wildcard functions/*))
GOFLAGS_LAMBDA := -tags lambda.norpc -trimpath -ldflags="-s -w"
DDB_LOCAL_DIR ?= $(CURDIR)/.cache/dynamodb-local

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z][a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

.PHONY: build
build: console $(addprefix build/,$(addsuffix /bootstrap,$(FUNCTIONS))) ## build every function as build/<name>/bootstrap (provided.al2023, arm64)

build/%/bootstrap: FORCE
	@mkdir -p $(dir $@)
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 go build $(GOFLAGS_LAMBDA) -o $@ ./functions/$*

.PHONY: FORCE
FORCE:

.PHONY: dynamodb-local
dynamodb-local: ## download DynamoDB Local into .cache/ (once)
	@bash scripts/dynamodb-local.sh "$(DDB_LOCAL_DIR)"

# The web console's assets (console/web) are committed as served, so a fresh
# clone compiles (go:embed) before any npm step; this installs the pinned
# npm packages (Chart.js, and playwright-core for the browser test) and
# copies Chart.js's dist file, which a test compares with the package.
# npm ci runs only when the lock file changed, and --prefer-offline lets a
# warm npm cache do without the network.
.PHONY: console
console: console/web/chart.umd.min.js ## install the console's pinned npm packages and copy Chart.js into console/web

console/node_modules/.package-lock.json: console/package.json console/package-lock.json
	cd console && npm ci --prefer-offline --no-audit --no-fund
	@touch $@

console/web/chart.umd.min.js: console/node_modules/.package-lock.json
	cp console/node_modules/chart.js/dist/chart.umd.min.js $@

.PHONY: chromium
chromium: ## Debian's Chromium for the console's browser test (installed when missing and run as root, as in CI)
	@bash scripts/chromium.sh

.PHONY: run
# Built and exec'd rather than `go run`: on Ctrl-C `go run` exits 1 even when
# the program exits 0, and make would report "Error 1". The program exits 0 on
# Ctrl-C (SIGINT) or SIGTERM, so make reports nothing.
run: dynamodb-local console ## start DynamoDB Local and every function behind a local gateway on 127.0.0.1:3000
	@mkdir -p $(dir $(LOCAL_BIN))
	go build -o $(LOCAL_BIN) ./cmd/local
	exec $(LOCAL_BIN)

LOCAL_BIN ?= build/local

.PHONY: test
test: dynamodb-local console chromium ## run every test (unit, conformance, DynamoDB Local integration, stack)
	go vet ./...
	go test -race -count=1 ./...

.PHONY: bench
bench: build ## micro-benchmarks and the load driver; the report goes to build/bench.md (copy figures into docs/benchmarks.md)
	go test -run '^$$' -bench . -benchmem -count 3 ./shared/domain/bucketing ./shared/domain/stats ./shared/domain/conditions ./shared/domain/enrolment ./shared/domain/flag | tee build/bench-micro.txt
	go run ./cmd/loadgen -n $(BENCH_N) -c $(BENCH_C) -results-users $(BENCH_RESULTS_USERS) | tee build/bench.md

.PHONY: bench-recount
bench-recount: dynamodb-local ## the recount at RECOUNT_UNITS units (default 1,000,000): time, calls and peak memory; report in build/bench-recount.md
	@mkdir -p build
	go run ./cmd/recountbench -units $(RECOUNT_UNITS) | tee build/bench-recount.md

RECOUNT_UNITS ?= 1000000

BENCH_N ?= 2000
BENCH_C ?= 16
BENCH_RESULTS_USERS ?= 100000

.PHONY: soak
soak: dynamodb-local ## the reliability tests (tests/reliability) run SOAK_RUNS times over (default 10)
	go test -race -count=$(SOAK_RUNS) -timeout 120m ./tests/reliability

SOAK_RUNS ?= 10

.PHONY: fuzz
fuzz: dynamodb-local ## run every fuzz target for FUZZTIME each (default 30s); make test runs their seed corpora
	FUZZTIME=$(FUZZTIME) bash scripts/fuzz.sh

FUZZTIME ?= 30s

include infra/infra.mk

.PHONY: clean
clean: ## remove build outputs
	rm -rf build cdk.out infra/cdk.out
