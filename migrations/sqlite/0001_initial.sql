-- oauthd schema, SQLite flavour. Keep in step with migrations/postgres/0001_initial.sql:
-- same tables, same columns, same meaning; only the type names differ.
-- Times are unix seconds (integer) so one row struct decodes on both backends.

create table client (
    client_id       text primary key,
    name            text not null,
    -- argon2id PHC string; never the secret itself
    secret_hash     text not null,
    -- bumped on every secret change so caches of verified secrets can tell they are stale
    secret_version  integer not null default 1,
    -- space-separated lists, as in the RFC 6749 scope syntax
    grant_types     text not null,
    scopes          text not null,
    default_scopes  text not null,
    created_at      integer not null,
    updated_at      integer not null
);

create table account (
    username        text primary key,
    -- argon2id PHC string
    password_hash   text not null,
    created_at      integer not null,
    updated_at      integer not null
);

-- One row per grant: every access and refresh token descends from exactly one family, so revoking a
-- family (reuse detection, revocation of a refresh token, admin revocation) is one update.
create table grant_family (
    family_id       text primary key,
    client_id       text not null references client (client_id) on delete cascade,
    username        text references account (username) on delete cascade,
    grant_type      text not null,
    -- the scope originally granted; refresh tokens keep it (RFC 6749 section 6)
    scope           text not null,
    created_at      integer not null,
    -- absolute lifetime of the whole family; null when unlimited
    expires_at      integer,
    revoked_at      integer
);
create index grant_family_client_id on grant_family (client_id);
create index grant_family_username on grant_family (username) where username is not null;

-- Access and refresh tokens, stored as the SHA-256 digest of the token, never the token.
create table token (
    token_digest      blob primary key,
    kind              text not null check (kind in ('access', 'refresh')),
    family_id         text not null references grant_family (family_id) on delete cascade,
    scope             text not null,
    issued_at         integer not null,
    expires_at        integer not null,
    revoked_at        integer,
    -- refresh tokens: set when the token was rotated (used once)
    consumed_at       integer,
    -- refresh tokens: the access token issued together with this refresh token
    access_digest     blob,
    -- refresh tokens: the refresh token that replaced this one on rotation
    successor_digest  blob,
    -- refresh tokens: the rotation's response, encrypted under a key derived from this token,
    -- kept for the replay window only
    replay_sealed     blob,
    replay_until      integer,
    -- access tokens: first active introspection
    first_used_at     integer
);
create index token_family_id on token (family_id);
create index token_expires_at on token (expires_at);
create index token_replay_until on token (replay_until) where replay_until is not null;
