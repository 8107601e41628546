-- Failed sign-ins (the password grant and the sign-in page), per account and per client address,
-- for the login throttle (src/oauth/throttle.rs). Keep in step with the other backend's
-- 0006_login_throttle.sql: same table, same columns; only the type names differ.
--
-- Kept in the database so that every instance sharing it throttles alike. A row holds no
-- password: the attempted username or the address (an IPv6 client's /64), a count and two times.
create table login_throttle (
    -- 'account' (the attempted username, existing or not) or 'address' (the client's address)
    throttle_kind      text not null,
    throttle_key       text not null,
    -- consecutive failures; forgotten when the last is older than login.forget_after_secs
    failures           integer not null,
    last_failure_at    integer not null,
    -- attempts are refused, without verifying anything, until then
    locked_until       integer,
    primary key (throttle_kind, throttle_key)
);
-- The janitor deletes rows whose failures are forgotten.
create index login_throttle_last_failure_at on login_throttle (last_failure_at);
