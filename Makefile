# The project's command surface. `make` (or `make help`) lists every target.
# Stack and database targets run through the Compose services: the host needs Docker, make
# and uv, nothing else.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

COMPOSE ?= docker compose
# A one-off container of the migrator image (starts db first, waits for it to be healthy).
MIGRATOR := $(COMPOSE) run --rm --quiet-pull migrator
STEPS ?= 1

##@ Stack

.PHONY: up
up: ## Build and start db, migrator and backend; wait until healthy and print the URLs
	@echo "Starting the stack (db → migrator → backend) ..."
	$(COMPOSE) up --build --wait
	@scripts/print-urls.sh

.PHONY: down
down: ## Stop the stack (the database volume is kept)
	$(COMPOSE) down

.PHONY: logs
logs: ## Follow the logs (one service: make logs s=backend)
	$(COMPOSE) logs --follow $(s)

.PHONY: ps
ps: ## Show the services and their health
	$(COMPOSE) ps --all

##@ Database

.PHONY: migrate
migrate: ## Upgrade the database to the newest revision (head)
	$(MIGRATOR) alembic upgrade head

.PHONY: rollback
rollback: ## Undo the newest revisions (STEPS=n, default 1)
	@[[ "$(STEPS)" =~ ^[1-9][0-9]*$$ ]] || { echo "STEPS must be a whole number of revisions, at least 1: make rollback STEPS=2" >&2; exit 2; }
	$(MIGRATOR) alembic downgrade -$(STEPS)

.PHONY: current
current: ## Show the database's revision
	$(MIGRATOR) alembic current

.PHONY: history
history: ## List every revision, newest first, marking the database's
	$(MIGRATOR) alembic history --verbose --indicate-current

.PHONY: stamp
stamp: ## Record a revision as applied without running it (rev=002)
	$(if $(rev),,$(error rev is required: make stamp rev=002))
	$(MIGRATOR) alembic stamp $(rev)

.PHONY: psql
psql: ## Open psql on the development database
	$(COMPOSE) exec db sh -c 'exec psql -U "$$POSTGRES_USER" -d "$$POSTGRES_DB"'

.PHONY: reset
reset: ## Wipe the local database and bring it back empty at head (asks first; FORCE=1 skips)
	@scripts/confirm-reset.sh
	$(COMPOSE) down --volumes
	$(COMPOSE) up --build --wait

##@ Tests

.PHONY: lint
lint: ## Lint and type-check: ruff, mypy, shellcheck
	cd backend && uv run --frozen ruff check . && uv run --frozen ruff format --check .
	cd backend && uv run --frozen mypy
	cd backend && uv run --frozen shellcheck ../scripts/*.sh ../.ci/*.sh ../.ci/run ../.ci/images/*/*.sh

.PHONY: test
test: lint ## Run every test: unit, database (real PostgreSQL) and end-to-end (real Compose)
	cd backend && uv run --frozen pytest $(args)

##@ Help

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} \
		/^##@/ {printf "\n\033[1m%s\033[0m\n", substr($$0, 5)} \
		/^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)
