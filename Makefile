# otelcol-agentic — make targets used by humans and by CI alike.
SHELL := /bin/bash
GO ?= go
export GOFLAGS ?= -mod=mod
BUILD := build
COLLECTOR := $(BUILD)/otelcol-agentic

.PHONY: all deps build collector run test test-short bench fuzz lint clean demo eval

all: build

## deps: fetch libchdb.so (the embedded ClickHouse engine) into .deps/chdb,
## the Go modules, and the npm packages of the client compatibility tests
deps:
	@./scripts/fetch-libchdb.sh
	@$(GO) mod download
	@command -v npm >/dev/null || { echo "npm not found: install Node.js 20 and npm (apt-get install nodejs npm)"; exit 1; }
	@command -v chromium >/dev/null || { echo "installing Debian's Chromium for the browser tests (apt-get install chromium) ..."; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	@for d in sampleapp/web/ $(dir $(wildcard tests/*/package-lock.json)); do \
	  echo "npm ci in $$d"; npm ci --prefix $$d --no-audit --no-fund --loglevel=error || exit 1; \
	done

## build: the collector (ocb) and the repository's binaries into build/
build: collector $(BUILD)/sampleapp $(BUILD)/loadgen $(BUILD)/agentic-mcp

$(BUILD)/agentic-mcp: go.mod go.sum $(shell find mcp internal schema -name '*.go' -o -name '*.sql' -o -name '*.yaml' 2>/dev/null)
	$(GO) build -o $@ ./mcp/cmd/agentic-mcp

$(BUILD)/sampleapp: go.mod $(shell find sampleapp -path sampleapp/web/node_modules -prune -o \( -name '*.go' -o -name '*.yaml' -o -name '*.html' -o -name '*.js' -o -name '*.css' \) -print 2>/dev/null)
	$(GO) build -o $@ ./sampleapp

$(BUILD)/loadgen: go.mod $(shell find loadgen -name '*.go' -o -name '*.yaml' 2>/dev/null)
	$(GO) build -o $@ ./loadgen

collector: $(COLLECTOR)

$(COLLECTOR): builder-config.yaml go.mod go.sum $(shell find extension internal schema processor exporter receiver connector -name '*.go' -o -name '*.sql' 2>/dev/null)
	@echo "building the collector with ocb (a cold build takes ~4 minutes on 2 cores) ..."
	@mkdir -p $(BUILD)/collector
	@$(GO) tool builder --config builder-config.yaml
	@cp $(BUILD)/collector/otelcol-agentic $(COLLECTOR).new && mv -f $(COLLECTOR).new $(COLLECTOR)
	@echo "built $(COLLECTOR)"

## run: the collector on the embedded engine, the sample shop and a steady load; Ctrl-C stops all
run: deps build
	@./scripts/run.sh

## demo: the seed's three agentic scenarios played through the MCP server over stdio (~5 min; Ctrl-C stops all)
demo: deps build
	$(GO) run ./demo/cmd/agentic-demo

## eval: seeded faults scored against loadgen's ground truth (~15 min); table in build/eval.md and .json
eval: deps build
	$(GO) run ./demo/cmd/agentic-eval --report $(BUILD)/eval

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
