"""`make rehearse file=DUMP`: the pending revisions run on a copy of production-like data, to
see their time, locks and rewrites before they ship (`python -m chat_backend.revisions.rehearsal`,
cli).

archive checks the dump and checksums it; pg_restore runs the pg_restore that matches the
server (the db container's, or the server's own binaries'); cached_template loads the dump
once into a template keyed by that checksum (and runs the scrub script on it); runner applies
each pending revision as the migrator does, on a clone, and judges its downgrade with the
rollback guard; measurement reads what each revision locked, rewrote and changed; report
turns that into findings, a table or JSON, and the exit status.
"""
