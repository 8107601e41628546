-- token_expires_at (0001) indexed every token's expiry for a janitor that now finds expired rows
-- through the partial indexes of 0003 (token_access_expires_at, token_refresh_head_expires_at);
-- no query uses it, and every token insert and rotation paid to maintain it. Same text for
-- PostgreSQL and SQLite.
drop index if exists token_expires_at;
