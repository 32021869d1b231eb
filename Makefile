# commitbench — see README.md. Every target works on a fresh machine with Go.
GO        ?= go
BIN       := bin/commitbench
WORKLOAD  ?= workloads/quick.yaml
BROKER    ?=
RESULTS   ?= results
BENCHFLAGS ?=
NODES     ?=
broker_flag := $(if $(BROKER),--broker $(BROKER),) $(if $(NODES),--nodes $(NODES),)

CAPACITY  ?= workloads/capacity/embedded.yaml
CAPFLAGS  ?=

.PHONY: all build bench test lint plots report screenshot gate gate-ab anchor capacity kafka container-image clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/commitbench

# The quick default sweep on the embedded broker; ends with the table,
# the plots and the report of the run (results/latest).
bench: build
	$(BIN) run $(broker_flag) --results $(RESULTS) $(BENCHFLAGS) $(WORKLOAD)
	$(BIN) plot $(RESULTS)/latest
	$(BIN) report $(RESULTS)/latest

plots: build
	$(BIN) plot $(RESULTS)/latest

report: build
	$(BIN) report $(RESULTS)/latest

# The report as headless Chromium shows it: results/latest/report.png
# (needs Debian's chromium package).
screenshot: build
	$(BIN) report --screenshot $(RESULTS)/latest

gate: build
	$(BIN) gate --baseline $(RESULTS)/baseline --current $(RESULTS)/latest $(if $(wildcard $(RESULTS)/baseline/gates.yaml),--config $(RESULTS)/baseline/gates.yaml,) $(GATEFLAGS)

# An A/B gate in one job: baseline and candidate interleaved on one broker
# (GATEFLAGS: --candidate-set path=value, --candidate-bin PATH, --junit FILE).
# With no flags it is an A/A run, which must pass.
gate-ab: build
	$(BIN) gate ab $(GATEFLAGS) workloads/gate.yaml

# The whole suite under the race detector: real worker processes are
# started and SIGKILLed, so it takes a minute or two.
test:
	$(GO) test -race -count=1 -timeout 30m ./...

# Kafka's own ConsumerPerformance beside commitbench's no-commit ceiling on
# one topic (BROKER=local by default; needs `make kafka`).
anchor: build
	$(BIN) anchor --broker $(or $(BROKER),local) $(if $(NODES),--nodes $(NODES),)

# The group coordinator's capacity: committers swept over commit rates
# (docs/capacity.md), on the embedded broker with 2 ms per commit by
# default; BROKER=local [NODES=3] runs the same steps on real Kafka, without
# the emulated delay. Steps in results/latest-capacity.
capacity: build
	$(BIN) capacity $(broker_flag) $(if $(filter-out embedded,$(BROKER)),--commit-delay 0s,) --results $(RESULTS) $(CAPFLAGS) $(CAPACITY)

# Real Apache Kafka's jars (version pinned in scripts/kafka.sh) into
# .cache/kafka, for BROKER=local.
kafka:
	scripts/kafka.sh fetch

# The Kafka image for BROKER=container where no registry is reachable
# (podman; docs/container.md). Idempotent; needs root.
container-image:
	scripts/podman.sh install
	scripts/podman.sh image

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

clean:
	rm -rf bin
