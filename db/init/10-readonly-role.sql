-- Runs once, when the db volume is first created. Extensions and roles only: the schema
-- belongs to Alembic.
--
-- A read-only role for inspection tools: it can read every table the migrations create
-- later, and change nothing. Grant it to a login role to use it.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'chat_readonly') THEN
        CREATE ROLE chat_readonly NOLOGIN;
    END IF;
END
$$;
GRANT USAGE ON SCHEMA public TO chat_readonly;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO chat_readonly;
