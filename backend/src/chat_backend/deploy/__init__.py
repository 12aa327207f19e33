"""Host tooling for deploying past one machine: `make k8s` renders deploy/kubernetes for an
image (`python -m chat_backend.deploy --image REF`), without kubectl or kustomize installed:
manifests reads the kustomization and its resources, images applies kustomize's `images:`
rule to them.

Not part of what the image runs: `api/` and `db/` never import it.
"""
