"""`python -m chat_backend.revisions COMMAND`: see chat_backend.revisions.cli."""

from chat_backend.revisions.cli import main

raise SystemExit(main())
