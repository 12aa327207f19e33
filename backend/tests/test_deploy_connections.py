"""The database connections the defaults open fit PostgreSQL's max_connections: workers x
(data pool + /health's pool) per backend, x replicas (plus the one a rolling update surges)
on Kubernetes, plus the migrator and room for an operator. The figures are read from
compose.yaml (as Compose reads it), the rendered manifests and the app's own constants, so a
change to any of them that breaks the sum fails here; the README's table shows the sum."""

from __future__ import annotations

import math
from pathlib import Path

from chat_backend.api.application import CONNECTIONS_PER_WORKER, HEALTH_THREADS
from chat_backend.db.api_pool import POOL_SIZE
from tests.deploy_support import one, rendered
from tests.test_deploy_parity import compose_services

# PostgreSQL's default max_connections, less its superuser_reserved_connections (3).
AVAILABLE = 100 - 3
# The migrator (its advisory-lock session and the migration's), each backend pod's init
# container while it waits for the schema, and an operator's psql or backup.
MIGRATOR = 2
OPERATOR = 5
# Kubernetes' default rolling update (maxSurge 25 %, rounded up) runs one pod more meanwhile.
SURGE = 0.25


def test_one_worker_holds_its_data_pool_and_the_health_pool() -> None:
    assert CONNECTIONS_PER_WORKER == POOL_SIZE + HEALTH_THREADS == 12


def test_compose_defaults_fit_max_connections(tmp_path: Path) -> None:
    workers = int(compose_services(tmp_path)["backend"]["environment"]["WEB_CONCURRENCY"])
    total = workers * CONNECTIONS_PER_WORKER + MIGRATOR + OPERATOR
    assert (workers, total) == (2, 31)
    assert total <= AVAILABLE


def test_kubernetes_defaults_fit_max_connections() -> None:
    manifests = rendered()
    workers = int(one(manifests, "ConfigMap")["data"]["WEB_CONCURRENCY"])
    replicas = int(one(manifests, "Deployment")["spec"]["replicas"])
    pods = replicas + math.ceil(replicas * SURGE)
    total = pods * (workers * CONNECTIONS_PER_WORKER + 1) + MIGRATOR + OPERATOR
    assert (workers, replicas, pods, total) == (2, 2, 3, 82)
    assert total <= AVAILABLE
