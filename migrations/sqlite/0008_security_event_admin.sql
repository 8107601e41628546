-- Security events (src/oauth/events.rs) and administrators. Keep in step with
-- migrations/postgres/0008_security_event_admin.sql: same tables, same columns; only the type names
-- and the identity column differ.

-- What happened, who did it, to what, from where. Never a token, code, secret or password. No
-- foreign keys: an event outlives the client or user it names. Pruned by the janitor after
-- security.event_retention_secs.
create table security_event (
    -- autoincrement: ids are never reused, so the list's order and cursors stay stable
    security_event_id  integer primary key autoincrement,
    occurred_at        integer not null,
    -- refresh_token_reuse, client_secret_rotated, admin_api_call, … (store::types::EventKind)
    kind               text not null,
    -- who: 'user' (an administrator), 'client' (an automation client), 'cli' or 'system'
    actor_kind         text not null,
    -- the user's name or the client's id; null for 'cli' and 'system'
    actor_id           text,
    client_id          text,
    username           text,
    family_id          text,
    -- the peer's IP address, when the event came from a request
    peer_address       text,
    -- a short server-written note (e.g. the admin API route and status), never request data
    detail             text
);
-- Newest first, and the janitor's pruning by age.
create index security_event_occurred_at on security_event (occurred_at, security_event_id);
-- The list's filters.
create index security_event_kind on security_event (kind, occurred_at);
create index security_event_client_id on security_event (client_id, occurred_at) where client_id is not null;
create index security_event_username on security_event (username, occurred_at) where username is not null;

-- Administrators sign in to the console; a disabled user can no longer authenticate.
alter table account add column admin boolean not null default false;
alter table account add column disabled_at integer;
