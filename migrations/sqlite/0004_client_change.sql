-- Client changes, noticed by every process that caches client rows (src/store/client_cache.rs):
-- a counter bumped in the changing transaction, which each process reads every 100 ms. Keep in
-- step with migrations/postgres/0004_client_change.sql (which also notifies listeners).
create table client_change (
    client_change_id  integer primary key check (client_change_id = 1),
    seq               bigint not null
);
insert into client_change (client_change_id, seq) values (1, 0);

create trigger client_inserted after insert on client
begin
    update client_change set seq = seq + 1;
end;
create trigger client_updated after update on client
begin
    update client_change set seq = seq + 1;
end;
create trigger client_deleted after delete on client
begin
    update client_change set seq = seq + 1;
end;
