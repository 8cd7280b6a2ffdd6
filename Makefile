# otelcol-agentic — make targets used by humans and by CI alike.
SHELL := /bin/bash
GO ?= go
export GOFLAGS ?= -mod=mod
BUILD := build
COLLECTOR := $(BUILD)/otelcol-agentic

.PHONY: all deps build collector run test test-short bench fuzz lint clean

all: build

## deps: fetch libchdb.so (the embedded ClickHouse engine) into .deps/chdb
deps:
	@./scripts/fetch-libchdb.sh
	@$(GO) mod download

## build: the collector (ocb) and the repository's binaries into build/
build: collector

collector: $(COLLECTOR)

$(COLLECTOR): builder-config.yaml go.mod go.sum $(shell find extension internal schema processor exporter receiver -name '*.go' -o -name '*.sql' 2>/dev/null)
	@echo "building the collector with ocb (a cold build takes ~4 minutes on 2 cores) ..."
	@mkdir -p $(BUILD)/collector
	@$(GO) tool builder --config builder-config.yaml
	@cp $(BUILD)/collector/otelcol-agentic $(COLLECTOR)
	@echo "built $(COLLECTOR)"

## run: the collector on the embedded engine with the default config
run: deps build
	@echo "collector: OTLP on 127.0.0.1:4317/4318, ClickHouse HTTP on http://127.0.0.1:8123, data in ./data"
	$(COLLECTOR) --config otelcol-config.yaml

## test: every test, against the real engine and the built collector
test: deps build
	OTELCOL_AGENTIC_BIN=$(abspath $(COLLECTOR)) $(GO) test -count=1 -timeout 30m ./...

## bench: the benchmarks, with numbers
bench: deps
	$(GO) test -run '^$$' -bench . -benchtime 3x -timeout 60m ./...

## fuzz: a short run of every fuzz target
fuzz: deps
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list 'Fuzz.*' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "fuzz $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime 20s $$pkg || exit 1; \
	  done; \
	done

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1)
	$(GO) vet ./...

clean:
	rm -rf $(BUILD)
