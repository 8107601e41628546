-- Self-service clients: the user who registered a client in the console owns it. Keep in step with
-- migrations/sqlite/0011_client_owner.sql: same column, only the type names differ.

-- Null for a client the operator registered (the CLI or the admin API without an owner). Deleting
-- the user leaves their clients to the operator (set null) rather than deleting them unrecorded,
-- and keeps a later user of the same name from inheriting them.
alter table client add column owner text references account (username) on delete set null;
-- "My applications": a user's clients by id.
create index client_owner on client (owner, client_id) where owner is not null;
