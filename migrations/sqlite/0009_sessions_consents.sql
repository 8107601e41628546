-- Sign-in sessions and remembered consents (src/web.rs, src/oauth/session.rs, src/oauth/consent.rs).
-- Keep in step with migrations/postgres/0009_sessions_consents.sql: same tables, same columns; only
-- the type names differ.

-- A browser's session with the pages, stored as the SHA-256 digest of the id its cookie holds,
-- never the id. Anonymous (username null) until its visitor signs in, when it is replaced by a
-- new one (the id changes at sign-in). It ends when unused for sessions.idle_secs, or
-- sessions.absolute_secs after it began; the janitor deletes it after that.
create table web_session (
    session_digest  blob primary key,
    username        text references account (username) on delete cascade,
    created_at      integer not null,
    last_seen_at    integer not null,
    -- when its user signed in (the auth_time of the codes it authorizes); null while anonymous
    auth_time       integer
);
create index web_session_username on web_session (username) where username is not null;
-- The janitor's deletion of ended sessions.
create index web_session_last_seen_at on web_session (last_seen_at);
create index web_session_created_at on web_session (created_at);

-- What a user allowed a client: the scopes granted so far (space-separated), so a request within
-- them is not asked again and one for more is. Kept until the user (or an administrator) revokes
-- it, or the user or client is deleted.
create table consent (
    username    text not null references account (username) on delete cascade,
    client_id   text not null references client (client_id) on delete cascade,
    scope       text not null,
    granted_at  integer not null,
    primary key (username, client_id)
);
create index consent_client_id on consent (client_id);
