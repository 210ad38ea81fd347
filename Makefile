# Rebook — everything a newcomer needs. `make run` and `make test` work on a fresh machine
# with only Python 3.11+, Node 20 and npm: uv is installed through pip when missing.
SHELL := /bin/bash
UV := $(shell command -v uv 2>/dev/null || echo python3 -m uv)
RUN := cd backend && $(UV) run --frozen
HAVE_FRONTEND := $(wildcard frontend/package.json)

.PHONY: run test lint fmt migrate sql seed-demo setup tools frontend gen-api bench

setup: ## Install uv (if missing) and the locked Python dependencies
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	cd backend && $(UV) sync --frozen --quiet

tools: ## Test tools from npm: Prism, the validating mock of Twilio's OpenAPI spec
	npm ci --prefix tools/prism --no-audit --no-fund --loglevel=error

ifneq ($(HAVE_FRONTEND),)
# npm ci and the build run only when their inputs changed: a second `make run` skips both.
# npm writes node_modules/.package-lock.json on every install; the lock file is its input.
FRONTEND_DEPS := frontend/node_modules/.package-lock.json
FRONTEND_SOURCES := $(shell find frontend/src frontend/public -type f 2>/dev/null) \
	frontend/index.html frontend/package.json frontend/vite.config.ts frontend/tsconfig.json
frontend: frontend/dist/index.html ## Build the web app into frontend/dist (served by `rebook serve`)

$(FRONTEND_DEPS): frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

frontend/dist/index.html: $(FRONTEND_DEPS) $(wildcard $(FRONTEND_SOURCES))
	cd frontend && npm run build
	@touch $@
else
frontend:
endif

run: setup frontend ## Set up and run Rebook with demo data on http://127.0.0.1:8000
	$(RUN) rebook serve --prepare

test: setup tools ## The whole test suite
	$(RUN) pytest
ifneq ($(HAVE_FRONTEND),)
	cd frontend && npm ci --no-audit --no-fund --loglevel=error && npm test && npm run build
	$(RUN) pytest ../e2e
endif

.PHONY: soak
soak: setup ## Long fault runs: kill -9 x5 and PostgreSQL restarts during 2,000-recipient campaigns
	$(RUN) pytest -m soak -s -q

.PHONY: bench-latency
bench-latency: setup ## /healthz p50/p99 while hostile content is saved and 32 wrong logins run
	$(RUN) pytest -m latency -s -q -o log_cli=true --log-cli-level=WARNING

.PHONY: e2e
e2e: setup frontend ## End-to-end tests of the web app in /usr/bin/chromium (screenshots in test-artifacts/)
	$(RUN) pytest ../e2e

.PHONY: e2e-large
e2e-large: setup frontend ## The select-all check over 200,000 seeded customers (kept out of `make e2e`)
	$(RUN) pytest ../e2e -m large_audience

gen-api: setup ## Regenerate frontend/src/api/schema.d.ts from the backend's OpenAPI schema
	cd frontend && npm run gen-api

lint: setup ## ruff, mypy (and tsc, eslint for the web app)
	$(RUN) ruff check src tests migrations ../bench
	$(RUN) ruff format --check src tests migrations ../bench
	$(RUN) mypy
ifneq ($(HAVE_FRONTEND),)
	cd frontend && npm run lint
endif

fmt: setup ## Format and auto-fix
	$(RUN) ruff format src tests migrations ../bench
	$(RUN) ruff check --fix src tests migrations ../bench

migrate: setup ## Apply database migrations
	$(RUN) rebook migrate

sql: setup ## Print the SQL of all migrations (for a DBA)
	@$(RUN) rebook sql

seed-demo: setup ## Load the demo data into an empty database
	$(RUN) rebook seed-demo

.PHONY: bench-messaging bench-messaging-data
bench-messaging: setup ## Messaging API benchmark → docs/benchmarks.md (DATABASE_URL, else rebook_bench on 127.0.0.1:5432)
	$(RUN) python ../bench/messaging_api.py

bench-messaging-data: setup ## Generate (once) the messaging benchmark's data set
	$(RUN) python ../bench/messaging_data.py

.PHONY: bench-delivery bench-delivery-email bench-delivery-whatsapp bench-delivery-memory
bench-delivery: setup ## Delivery engine benchmarks (email, WhatsApp, memory) → docs/benchmarks.md
	$(RUN) python ../bench/delivery_bench.py all

bench-delivery-email: setup ## One worker over SMTP to a local sink, beside a bare aiosmtplib loop
	$(RUN) python ../bench/delivery_bench.py email

bench-delivery-whatsapp: setup ## Two workers against the local fake Twilio at 80/s
	$(RUN) python ../bench/delivery_bench.py whatsapp

bench-delivery-memory: setup ## Worker peak RSS at 10 k / 100 k / 1 M recipients; first-message latency
	$(RUN) python ../bench/delivery_bench.py memory

.PHONY: bench-whatsapp-summary
bench-whatsapp-summary: setup ## Send summary with the WhatsApp 24-hour split vs an email one, 200 k recipients
	$(RUN) python ../bench/whatsapp_summary.py

.PHONY: bench-rates bench-cancel
bench-rates: setup ## Achieved send rate and busiest 1-s window, email and WhatsApp at 14-300/s
	$(RUN) python ../bench/engine_bench.py rates

bench-cancel: setup ## Messages that leave after a cancel's answer at 14/s, 80/s and unthrottled
	$(RUN) python ../bench/engine_bench.py cancel

.PHONY: bench-send-path
bench-send-path: setup ## The claim and the journal's write beside main's in one run (table for docs/benchmarks-send-path.md)
	$(RUN) python ../bench/send_path_bench.py $(BENCH_SEND_PATH_ARGS)

.PHONY: bench-dkim
bench-dkim: setup ## What DKIM signing costs per email, beside unsigned in the same run → docs/benchmarks-sending-and-startup.md
	$(RUN) python ../bench/dkim_bench.py

.PHONY: bench-smtp-pipelining bench-mime
bench-smtp-pipelining: setup ## Pipelined N connections vs plain aiosmtplib with 2N, relay at 20-50 ms → docs/benchmarks-libraries.md
	$(RUN) python ../bench/smtp_pipelining_bench.py

bench-mime: setup ## mime.py vs the standard library's EmailMessage, per message → docs/benchmarks-libraries.md
	$(RUN) python ../bench/mime_bench.py

.PHONY: bench-search-fold
bench-search-fold: setup ## Accent-folding migration on 200 k customers; trigram plans before/after
	$(RUN) python ../bench/search_fold_bench.py

.PHONY: bench-run
bench-run: setup ## Seconds from `make run` to serving: first and second run, vs three processes
	$(RUN) python ../bench/make_run_bench.py

.PHONY: bench-audiences
bench-audiences: setup ## Audience filters: first page + live count per filter vs raw SQL; select-all of ~100 k → docs/benchmarks-audiences.md
	$(RUN) python ../bench/audiences_bench.py

.PHONY: bench-api
bench-api: setup ## 50 owners at once on one server while a campaign sends → docs/benchmarks.md
	$(RUN) python ../bench/api_load.py $(BENCH_API_ARGS)
