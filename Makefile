# The project's command surface. `make` (or `make help`) lists every target.
# Stack and database targets run through the Compose services: the host needs Docker, make
# and uv, nothing else.
# Variables: lowercase ones take a value (m="add email", name=before-risky, file=...); UPPERCASE
# ones are switches and counts (FORCE=1, HARD=1, AUTO=1, STEPS=2). `make help` says so too.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

COMPOSE ?= docker compose
# The scripts read it from the environment (a test sets COMPOSE=false, say).
export COMPOSE
# A command of the migrator's image: in the running backend container (a fraction of a
# second), else in a one-off migrator container (starts db first, waits for it to be healthy).
MIGRATOR := scripts/in-stack.sh
# The revision tooling's command line, on the host (backend/src/chat_backend/revisions/cli.py);
# the targets only pass it their arguments (BASE, for renumber, through the environment).
REVISIONS := cd backend && uv run --frozen python -m chat_backend.revisions
# The same as one command, for the scripts that wrap it (scripts/with-stack-key.sh).
REVISIONS_COMMAND := uv run --frozen --directory backend python -m chat_backend.revisions
# Values a user gives (m=, rev=, from=, to=, s=, name=, file=, format=, env=, args=) reach the
# commands through the environment ("$${m}"), never pasted into the command line: a backtick
# stays text. Make syntax stays text too: make would expand `m='$(shell ...)'` (and so run it)
# wherever the value is used or exported, so each value given on the command line or in the
# environment becomes a simple variable holding exactly what the user typed ($(value ...)).
USER_VALUES := m name file rev from to s format env max_rows args BASE IMAGE STEPS FORCE HARD AUTO
$(foreach v,$(USER_VALUES),$(if $(filter command line environment,$(origin $(v))),\
	$(eval override $(v) := $$(value $(v)))$(eval export $(v))))

##@ Stack

.PHONY: up
up: ## Build and start db, migrator and backend; wait until healthy and print the URLs
	@echo "Building the backend image and starting db → migrator → backend (the first run downloads images; later ones take seconds) ..."
	@$(COMPOSE) up --build --wait || { echo "up: the stack did not come up healthy; \`make doctor\` checks this machine and \`make logs\` shows why" >&2; exit 1; }
	@scripts/print-urls.sh

.PHONY: watch
watch: ## Run the stack and restart the backend when backend/src changes (Ctrl-C stops watching)
	@echo "Starting the stack, then watching backend/src (compose.watch.yaml) ..."
	$(COMPOSE) --file compose.yaml --file compose.watch.yaml watch

.PHONY: down
down: ## Stop the stack (the database volume is kept)
	$(COMPOSE) down

.PHONY: logs
logs: ## Follow the logs (one service: make logs s=backend)
	$(COMPOSE) logs --follow $${s:+"$${s}"}

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

##@ Migrations (the daily workflow)

.PHONY: revision
revision: ## Write the next numbered revision: make revision m="add email" (AUTO=1: from the models)
	$(if $(m),,$(error m is required: make revision m="add email"))
	$(REVISIONS) revision --message "$${m}" $(if $(AUTO),--autogenerate)

.PHONY: migrate
migrate: ## Upgrade the database to the newest revision (head)
	$(MIGRATOR) alembic upgrade head

.PHONY: rollback
rollback: ## Undo the newest revisions (STEPS=n, default 1); backs up first, and keeps data unless FORCE=1
	@scripts/rollback.sh "$${STEPS:-1}"

.PHONY: merge
merge: ## Join two heads with the next numbered merge revision (m="..." optional)
	$(REVISIONS) merge $${m:+--message "$${m}"}

.PHONY: sql
sql: ## Print the offline SQL of an upgrade: make sql from=002 to=head (defaults: base, head)
	$(REVISIONS) sql --from "$${from:-base}" --to "$${to:-head}"

.PHONY: current
current: ## Show the database's revision (a phantom one, from another branch, is marked)
	$(MIGRATOR) python -m chat_backend.db.revision_status current

.PHONY: history
history: ## List every revision, newest first, marking the database's (and its phantoms)
	$(MIGRATOR) python -m chat_backend.db.revision_status history

.PHONY: applied
applied: ## Check that no revision the database applied was edited since, with a diff of each edit (the database of .env)
	$(REVISIONS) applied

.PHONY: plan
plan: ## Show what the next up / make migrate would do (phantoms, pending, squawk), changing nothing (format=json)
	scripts/with-stack-key.sh $(REVISIONS_COMMAND) plan $${format:+--format "$${format}"}

.PHONY: stamp
stamp: ## Record a revision as applied without running it (rev=002)
	$(if $(rev),,$(error rev is required: make stamp rev=002))
	$(MIGRATOR) alembic stamp "$${rev}"

.PHONY: psql
psql: ## Open psql on the development database
	$(COMPOSE) exec db sh -c 'exec psql -U "$$POSTGRES_USER" -d "$$POSTGRES_DB"'

##@ Disposable databases

# Each target runs `python -m chat_backend.local_db` inside the stack (scripts/local-db.sh).
# `name` reaches the scripts through the environment, never pasted into the shell command.
NAME_REQUIRED = $(if $(name),,$(error name is required: make $@ name=before-risky))

.PHONY: reset
reset: ## Empty the local database at head: a clone, in under a second (asks; FORCE=1 skips; HARD=1 recreates the volume)
	@scripts/confirm-reset.sh
	@scripts/reset-db.sh

.PHONY: snapshot
snapshot: ## Save the local database as a named snapshot: make snapshot name=before-risky
	$(NAME_REQUIRED)
	@scripts/local-db.sh snapshot "$${name}"

.PHONY: restore
restore: ## Bring a snapshot back, replacing the local database: make restore name=before-risky (asks; FORCE=1 skips)
	$(NAME_REQUIRED)
	@scripts/confirm-reset.sh "make restore name=$${name}"
	@scripts/local-db.sh restore "$${name}"

.PHONY: mark-database
mark-database: ## Say what the local database is: make mark-database env=development (destructive commands refuse one that is not development or test)
	$(if $(env),,$(error env is required: make mark-database env=development))
	@scripts/local-db.sh mark "$${env}"

.PHONY: snapshots
snapshots: ## List the snapshots, with their size and when they were taken
	@scripts/local-db.sh snapshots

.PHONY: drop-snapshot
drop-snapshot: ## Delete a snapshot: make drop-snapshot name=before-risky
	$(NAME_REQUIRED)
	@scripts/local-db.sh drop-snapshot "$${name}"

.PHONY: branches
branches: ## List the parked copies of other branches' data: branch, head revision, size, age, still in git
	@scripts/local-db.sh branches

.PHONY: drop-branch
drop-branch: ## Delete a branch's parked copy of its data: make drop-branch name=feature/notes
	$(if $(name),,$(error name is required: make drop-branch name=feature/notes; make branches lists them))
	@scripts/local-db.sh drop-branch "$${name}"

##@ Backups

# pg_dump archives of the local database in backups/ (git-ignored), written and read by the
# db container's own pg_dump and pg_restore. `file` reaches the script through the environment.

.PHONY: backup
backup: ## Write a backup of the local database to backups/
	@scripts/backup.sh >/dev/null

.PHONY: restore-backup
restore-backup: ## Put a backup back: make restore-backup file=backups/NAME.dump (backs up the current state first)
	$(if $(file),,$(error file is required: make restore-backup file=backups/NAME.dump; ls backups lists them))
	@scripts/restore-backup.sh "$${file}"

##@ Rehearsal (pending revisions on production-like data)

# The dump is loaded once into a cached template in the stack's db server (by its own
# pg_restore); each rehearsal runs on a clone, dropped afterwards. `file`, `format` and
# `max_rows` reach the script through the environment.

.PHONY: rehearse
rehearse: ## Run the pending revisions on a pg_dump's data: make rehearse file=backups/NAME.dump (format=json, max_rows=100000)
	$(if $(file),,$(error file is required: make rehearse file=backups/NAME.dump (a pg_dump -Fc file or -Fd folder)))
	@scripts/rehearse.sh "$${file}"

##@ Migration gate (before pushing; CI runs it)

.PHONY: renumber
renumber: ## After merging a branch: number this branch's revisions after the base's head (BASE=main default)
	scripts/with-stack-key.sh $(REVISIONS_COMMAND) renumber

.PHONY: squash
squash: ## Fold the revisions up to upto=N into one checkpoint revision (after every environment migrated past N)
	$(if $(upto),,$(error upto is required: make squash upto=300))
	$(REVISIONS) squash --upto "$${upto}"

.PHONY: check
check: ## Gate new revisions: numbering, one head, squawk, up-down-up, drift, checksums, schema.sql
	$(REVISIONS) check

.PHONY: schema
schema: ## Rewrite db/schema.sql from a throwaway database migrated to head
	$(REVISIONS) schema

##@ Tests

.PHONY: lint
lint: lint-workflows ## Lint and type-check: ruff, mypy, shellcheck, and the GitHub workflows
	cd backend && uv run --frozen ruff check . && uv run --frozen ruff format --check .
	cd backend && uv run --frozen mypy
	cd backend && uv run --frozen shellcheck ../scripts/*.sh ../.ci/*.sh ../.ci/run ../.ci/images/*/*.sh

# The workflow files, checked against check-jsonschema's GitHub-workflow schema (it ships
# with the package: no download). A test points WORKFLOWS_DIR at a folder with a broken one.
WORKFLOWS_DIR ?= $(CURDIR)/.github/workflows
export WORKFLOWS_DIR

.PHONY: lint-workflows
lint-workflows: ## Validate .github/workflows/*.yml against the GitHub-workflow schema
	cd backend && uv run --frozen check-jsonschema --builtin-schema vendor.github-workflows "$${WORKFLOWS_DIR}"/*.yml

# Parallel workers (pytest-xdist): most of a test's time is spent waiting on PostgreSQL or
# Docker, so twice as many workers as the CI machine's two cores keep both busy. A module
# whose tests share one running stack stays on one worker (--dist loadgroup). The longest
# work is handed out first, in the order tests/conftest.py gives (LONGEST_FIRST), not
# xdist's order by number of tests, which started the dev container's long run last.
TEST_WORKERS ?= 4
DISTRIBUTION := --numprocesses $(TEST_WORKERS) --dist loadgroup --no-loadscope-reorder
# The test environment's packages compiled up front: where PYTHONDONTWRITEBYTECODE is set (CI
# machines, some shells), every Python the tests start would compile SQLAlchemy, pydantic and
# the rest from source again (measured: `import sqlalchemy` 1.1 s instead of 0.3 s). Not a
# uv setting: with it, every `uv run` re-checks all 3,000 files (0.1 s) and says so.
COMPILED_ENV := cd backend && uv sync --frozen --compile-bytecode --quiet

.PHONY: test
test: lint ## Run every test: unit, database (real PostgreSQL) and end-to-end (real Compose), with branch coverage
	$(COMPILED_ENV)
	cd backend && uv run --frozen pytest --cov=chat_backend $(DISTRIBUTION) --durations 15 $${args-}

.PHONY: test-fast
test-fast: ## The edit loop: unit and database tests; no lint, no Compose, no coverage (args="-k reset" narrows it)
	$(COMPILED_ENV)
	cd backend && uv run --frozen pytest -m "not e2e" $(DISTRIBUTION) $${args-}

##@ Debugging

# The ports of `make debug`: the API's, and the debugger's that .vscode/launch.json attaches to.
# Both on 127.0.0.1 only, like the stack's published ports (a debugger runs any code it is
# sent); the editor's port forwarding reaches them there, in the dev container too.
DEBUG_API_PORT ?= 8000
DEBUG_ADAPTER_PORT ?= 5678
export DEBUG_API_PORT DEBUG_ADAPTER_PORT
# One server process, the one debugpy runs: uvicorn would otherwise take WEB_CONCURRENCY (set
# in the dev container, as in the stack) as its worker count, and breakpoints in the workers
# would never be hit.

.PHONY: debug
debug: ## Serve the API under debugpy on port 8000; attach with VS Code's "debug the backend" (F5)
	@echo "The API on http://localhost:$${DEBUG_API_PORT}; the debugger waits on 127.0.0.1:$${DEBUG_ADAPTER_PORT} (VS Code: Run and Debug, \"debug the backend\", F5)"
	cd backend && exec uv run --frozen python -m debugpy --listen "127.0.0.1:$${DEBUG_ADAPTER_PORT}" \
		-m uvicorn chat_backend.api:app --host 127.0.0.1 --port "$${DEBUG_API_PORT}" --workers 1

##@ Measurements

.PHONY: bench
bench: ## Measure the waits: stack start, reset, clone, migrations, a branch switch, the API, then make rehearse (minutes; own project)
	cd backend && uv run --frozen python bench/stack_bench.py
	cd backend && uv run --frozen python bench/branch_bench.py
	cd backend && uv run --frozen python bench/rehearse_bench.py
	@if [[ -f backend/bench/api_bench.py ]]; then cd backend && uv run --frozen python bench/api_bench.py; fi

##@ Kubernetes

.PHONY: k8s
k8s: ## Print the Kubernetes manifests for an image (for kubectl apply -f -): make k8s IMAGE=registry.example.com/chat-backend:1.0
	$(if $(IMAGE),,$(error IMAGE is required: make k8s IMAGE=registry.example.com/chat-backend:1.0))
	@cd backend && uv run --frozen --quiet python -m chat_backend.deploy --image "$${IMAGE}" ../deploy/kubernetes

##@ Help

.PHONY: help
help: ## List the targets
	@if [[ -t 1 && -z "$${NO_COLOR:-}" ]]; then bold=$$'\e[1m' cyan=$$'\e[36m' plain=$$'\e[0m'; else bold= cyan= plain=; fi; \
	awk -v bold="$${bold}" -v cyan="$${cyan}" -v plain="$${plain}" 'BEGIN {FS = ":.*## "} \
		/^##@/ {printf "\n%s%s%s\n", bold, substr($$0, 5), plain} \
		/^[a-zA-Z0-9_-]+:.*## / {printf "  %s%-16s%s %s\n", cyan, $$1, plain, $$2}' $(MAKEFILE_LIST)
	@printf '\n%s\n%s\n' \
		'Variables: lowercase ones take a value (m="add email", name=before-risky, file=..., rev=002, upto=300, s=backend, from=/to=, env=development, format=json, max_rows=N, args=...);' \
		'UPPERCASE ones are switches and counts (FORCE=1, HARD=1, AUTO=1, STEPS=2), and BASE=main for make renumber, IMAGE= for make k8s.'

.PHONY: readme
readme: ## Rewrite the target list in README.md from `make help` (after adding or changing a target)
	@MAKE='$(MAKE)' scripts/readme-help.sh
