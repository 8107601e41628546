-- Client changes, reported to every process that caches client rows (src/store/client_cache.rs).
-- Keep in step with migrations/sqlite/0004_client_change.sql: the same counter table; PostgreSQL
-- also notifies listeners, in the changing transaction (delivered when it commits), with the id.
create table client_change (
    client_change_id  integer primary key check (client_change_id = 1),
    seq               bigint not null
);
insert into client_change (client_change_id, seq) values (1, 0);

create function oauthd_client_changed() returns trigger language plpgsql as $$
begin
    update client_change set seq = seq + 1;
    perform pg_notify('oauthd_client', case when tg_op = 'DELETE' then old.client_id else new.client_id end);
    return null;
end
$$;

create trigger client_changed after insert or update or delete on client
    for each row execute function oauthd_client_changed();
