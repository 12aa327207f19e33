-- Runs on the rehearsal template right after `make rehearse` loads a dump, in one
-- transaction, before any pending revision: personal data from a production dump never sits in
-- clear in a developer's cluster. It sees the dump's schema (the revisions come later).
-- Keep what a rehearsal measures: the same rows, the same sizes, the same NULLs.
-- An empty file scrubs nothing. Editing it loads the dump again (it is part of the cache key).

-- Emails and names replaced, keyed by id so that unique constraints still hold; only where a
-- value was set, so the rows keep their NULLs (and a revision's NOT NULL still meets them).
UPDATE users
   SET username = 'user-' || id,
       display_name = CASE WHEN display_name IS NOT NULL THEN 'User ' || id END,
       email = CASE WHEN email IS NOT NULL THEN 'user-' || id || '@example.invalid' END;
