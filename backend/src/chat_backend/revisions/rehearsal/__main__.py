from chat_backend.revisions.rehearsal.cli import main

raise SystemExit(main())
