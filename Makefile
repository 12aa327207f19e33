# The project's command surface. `make` (or `make help`) lists every target.
# Stack and database targets run through the Compose services: the host needs Docker, make
# and uv, nothing else.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

COMPOSE ?= docker compose
# A command of the migrator's image: in the running backend container (a fraction of a
# second), else in a one-off migrator container (starts db first, waits for it to be healthy).
MIGRATOR := COMPOSE='$(COMPOSE)' scripts/in-stack.sh

##@ Stack

.PHONY: up
up: ## Build and start db, migrator and backend; wait until healthy and print the URLs
	@echo "Building the backend image and starting db → migrator → backend (the first run downloads images; later ones take seconds) ..."
	@$(COMPOSE) up --build --wait || { echo "up: the stack did not come up healthy; \`make doctor\` checks this machine and \`make logs\` shows why" >&2; exit 1; }
	@COMPOSE='$(COMPOSE)' scripts/print-urls.sh

.PHONY: watch
watch: ## Run the stack and restart the backend when backend/src or a revision changes (Ctrl-C stops watching)
	@echo "Starting the stack, then watching backend/src and backend/migrations (compose.watch.yaml) ..."
	$(COMPOSE) --file compose.yaml --file compose.watch.yaml watch

.PHONY: down
down: ## Stop the stack (the database volume is kept)
	$(COMPOSE) down

.PHONY: logs
logs: ## Follow the logs (one service: make logs s=backend)
	$(COMPOSE) logs --follow $(s)

.PHONY: ps
ps: ## Show the services and their health
	$(COMPOSE) ps --all

##@ Onboarding

.PHONY: doctor
doctor: ## Check this machine: Docker, Compose v2, uv, .env, free ports, the volume's PostgreSQL version
	@command -v uv >/dev/null || { echo "doctor: uv is not installed; install it from https://docs.astral.sh/uv/getting-started/installation/" >&2; exit 1; }
	@uv run --frozen --quiet --project backend python -m chat_backend.doctor

.PHONY: seed
seed: ## Add sample data (a demo user with a chat); running it again changes nothing
	@echo "Adding sample data through the stack's backend image ..."
	@$(MIGRATOR) python -m chat_backend.local_db.seed

##@ Database

.PHONY: migrate
migrate: ## Upgrade the database to the newest revision (head)
	$(MIGRATOR) alembic upgrade head

.PHONY: rollback
rollback: ## Undo the newest revisions (STEPS=n, default 1); backs up first, and keeps data unless FORCE=1
	@COMPOSE='$(COMPOSE)' scripts/rollback.sh "$${STEPS:-1}"

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

##@ Disposable databases

# Each target runs `python -m chat_backend.local_db` inside the stack (scripts/local-db.sh).
# `name` reaches the scripts through the environment, never pasted into the shell command.
LOCAL_DB := COMPOSE='$(COMPOSE)' scripts/local-db.sh
NAME_REQUIRED = $(if $(name),,$(error name is required: make $@ name=before-risky))

.PHONY: reset
reset: ## Empty the local database at head: a clone, in under a second (asks; FORCE=1 skips; HARD=1 recreates the volume)
	@scripts/confirm-reset.sh
	@COMPOSE='$(COMPOSE)' scripts/reset-db.sh

.PHONY: snapshot
snapshot: ## Save the local database as a named snapshot: make snapshot name=before-risky
	$(NAME_REQUIRED)
	@$(LOCAL_DB) snapshot "$${name}"

.PHONY: restore
restore: ## Bring a snapshot back, replacing the local database: make restore name=before-risky (asks; FORCE=1 skips)
	$(NAME_REQUIRED)
	@scripts/confirm-reset.sh "make restore name=$${name}"
	@$(LOCAL_DB) restore "$${name}"

.PHONY: snapshots
snapshots: ## List the snapshots, with their size and when they were taken
	@$(LOCAL_DB) snapshots

.PHONY: drop-snapshot
drop-snapshot: ## Delete a snapshot: make drop-snapshot name=before-risky
	$(NAME_REQUIRED)
	@$(LOCAL_DB) drop-snapshot "$${name}"

.PHONY: bench
bench: ## Measure the waits: stack start, reset, clone, migrations, then the API (minutes; own project)
	cd backend && uv run --frozen python bench/stack_bench.py
	@if [[ -f backend/bench/api_bench.py ]]; then cd backend && uv run --frozen python bench/api_bench.py; fi

##@ Backups

# pg_dump archives of the local database in backups/ (git-ignored), written and read by the
# db container's own pg_dump and pg_restore. `file` reaches the script through the environment.

.PHONY: backup
backup: ## Write a backup of the local database to backups/
	@COMPOSE='$(COMPOSE)' scripts/backup.sh >/dev/null

.PHONY: restore-backup
restore-backup: ## Put a backup back: make restore-backup file=backups/NAME.dump (backs up the current state first)
	$(if $(file),,$(error file is required: make restore-backup file=backups/NAME.dump; ls backups lists them))
	@COMPOSE='$(COMPOSE)' scripts/restore-backup.sh "$${file}"

##@ Tests

.PHONY: lint
lint: ## Lint and type-check: ruff, mypy, shellcheck
	cd backend && uv run --frozen ruff check . && uv run --frozen ruff format --check .
	cd backend && uv run --frozen mypy
	cd backend && uv run --frozen shellcheck ../scripts/*.sh ../.ci/*.sh ../.ci/run ../.ci/images/*/*.sh

# Parallel workers (pytest-xdist): most of a test's time is spent waiting on PostgreSQL or
# Docker, so twice as many workers as the CI machine's two cores keep both busy. A module
# whose tests share one running stack stays on one worker (--dist loadgroup).
TEST_WORKERS ?= 4

.PHONY: test
test: lint ## Run every test: unit, database (real PostgreSQL) and end-to-end (real Compose)
	cd backend && uv run --frozen pytest --numprocesses $(TEST_WORKERS) --dist loadgroup --durations 15 $(args)

##@ Migration gate

# The migration tooling's command line (backend/src/chat_backend/revisions/cli.py); the targets below
# only pass it their arguments.
MIGRATION_CLI := cd backend && uv run --frozen python -m chat_backend.revisions

.PHONY: revision
revision: ## Write the next numbered revision: make revision m="add email" (auto=1: from the models)
	$(if $(m),,$(error m is required: make revision m="add email"))
	$(MIGRATION_CLI) revision --message "$(m)" $(if $(auto),--autogenerate)

.PHONY: merge
merge: ## Join two heads with the next numbered merge revision (m="..." optional)
	$(MIGRATION_CLI) merge $(if $(m),--message "$(m)")

.PHONY: sql
sql: ## Print the offline SQL of an upgrade: make sql from=002 to=head (defaults: base, head)
	$(MIGRATION_CLI) sql --from "$(or $(from),base)" --to "$(or $(to),head)"

.PHONY: schema
schema: ## Rewrite db/schema.sql from a throwaway database migrated to head
	$(MIGRATION_CLI) schema

.PHONY: check
check: ## Gate new revisions: numbering, one head, squawk, up-down-up, drift, checksums, schema.sql
	$(MIGRATION_CLI) check

##@ Help

.PHONY: help
help: ## List the targets
	@if [[ -t 1 && -z "$${NO_COLOR:-}" ]]; then bold=$$'\e[1m' cyan=$$'\e[36m' plain=$$'\e[0m'; else bold= cyan= plain=; fi; \
	awk -v bold="$${bold}" -v cyan="$${cyan}" -v plain="$${plain}" 'BEGIN {FS = ":.*## "} \
		/^##@/ {printf "\n%s%s%s\n", bold, substr($$0, 5), plain} \
		/^[a-zA-Z_-]+:.*## / {printf "  %s%-16s%s %s\n", cyan, $$1, plain, $$2}' $(MAKEFILE_LIST)

.PHONY: readme
readme: ## Rewrite the target list in README.md from `make help` (after adding or changing a target)
	@MAKE='$(MAKE)' scripts/readme-help.sh
