-- Runs once, when the db volume is first created: the database says it is a development one.
-- Destructive commands (`make reset`, snapshots, rollbacks, the phantom rollback, ...) refuse
-- a database without a development or test marker, wherever it seems to be: a production
-- server reached through an SSH tunnel looks like localhost, but carries no such marker.
-- Kept in step with chat_backend/db/environment_marker.py (tests/test_db_environment_marker.py).
CREATE TABLE IF NOT EXISTS database_environment (
    one_row boolean PRIMARY KEY DEFAULT true CHECK (one_row),
    environment text NOT NULL CHECK (environment IN ('development', 'test', 'production')),
    marked_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO database_environment (environment) VALUES ('development')
ON CONFLICT (one_row) DO NOTHING;
