-- Indexes for the janitor (src/janitor.rs, src/store/cleanup.rs). Each finds one kind of dead row
-- by an index range instead of a table scan; they are partial so they stay small and rows outside
-- them cost nothing. Same text for PostgreSQL and SQLite.

-- Access tokens past their expiry.
create index token_access_expires_at on token (expires_at) where kind = 'access';

-- The head of each refresh chain (the one refresh token not yet rotated): when it has expired and
-- the family holds no other live token, the whole family is dead.
create index token_refresh_head_expires_at on token (expires_at)
    where kind = 'refresh' and consumed_at is null;

-- Revoked families, and families past their absolute lifetime.
create index grant_family_revoked_at on grant_family (revoked_at) where revoked_at is not null;
create index grant_family_expires_at on grant_family (expires_at) where expires_at is not null;
