"""`python -m chat_backend.local_db COMMAND`: see chat_backend.local_db.commands."""

from chat_backend.local_db.commands import main

raise SystemExit(main())
