"""`python -m chat_backend.deploy --image REF [DIRECTORY]`: print deploy/kubernetes rendered for
the backend image REF, ready for `kubectl apply -f -` (what `make k8s IMAGE=REF` runs)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from chat_backend.config import exit_with_problems
from chat_backend.deploy.images import ImageReference
from chat_backend.deploy.manifests import dump, render

# From backend/, where the Makefile runs it.
DEFAULT_DIRECTORY = Path("../deploy/kubernetes")


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m chat_backend.deploy", description=__doc__)
    parser.add_argument("--image", required=True, help="the backend image (make k8s IMAGE=...)")
    parser.add_argument("directory", nargs="?", type=Path, default=DEFAULT_DIRECTORY)
    args = parser.parse_args()
    try:
        image = ImageReference.parse(args.image)
    except ValueError as error:
        exit_with_problems([f"IMAGE: {error}"])
    try:
        documents = render(args.directory, image)
    except (OSError, ValueError) as error:
        exit_with_problems([str(error)])
    print(f"# Rendered by `make k8s` for the image {image}; apply with: kubectl apply -f -")
    sys.stdout.write(dump(documents))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
