-- Per-client policy (null = the server-wide default from config), the resource-server flag for
-- introspection, and disabling. Keep in step with migrations/postgres/0002_client_policy.sql.
alter table client add column access_lifetime_secs integer;
alter table client add column refresh_lifetime_secs integer;
alter table client add column family_lifetime_secs integer;
alter table client add column rotate_refresh_tokens boolean;
alter table client add column replay_window_secs integer;
alter table client add column client_credentials_refresh boolean;
-- a resource server may introspect tokens issued to any client
alter table client add column introspect boolean not null default false;
alter table client add column disabled_at integer;
