//! Dialect forks, PostgreSQL: the multi-step writes as one data-modifying statement each, and the
//! client-change listener. The SQLite side of each is in [`super::sqlite`].
//!
//! A transaction costs a round trip per statement plus BEGIN and COMMIT. PostgreSQL runs
//! `WITH … (UPDATE | INSERT …) …` as one statement in its own implicit transaction: one round trip,
//! the same all-or-nothing outcome.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgArguments, PgListener};
use sqlx::query::Query;
use sqlx::{ConnectOptions as _, Connection as _, PgConnection, PgPool, Postgres, Row as _};

use super::client_cache::ClientCache;
use super::codes::CodeExchange;
use super::families::{bind_family, NewGrant};
use super::tokens::{InPlace, NewToken, Rotation};
use super::Dialect;

/// The channel the `client` table's trigger notifies, with the client id as payload
/// (migrations/postgres/0004_client_change.sql).
const CLIENT_CHANNEL: &str = "oauthd_client";

/// Inserts a new grant's tokens into the family the statement's `family` returns: the access row
/// ($8–$13) and the refresh row ($14–$19), skipped when its digest is null.
macro_rules! insert_grant_tokens {
    () => {
        "insert into token (token_digest, kind, family_id, scope, issued_at, expires_at, access_digest) \
         select n.token_digest, n.kind, f.family_id, n.scope, n.issued_at, n.expires_at, n.access_digest \
         from family f cross join (values \
           ($8::bytea, $9::text, $10::text, $11::bigint, $12::bigint, $13::bytea), \
           ($14::bytea, $15::text, $16::text, $17::bigint, $18::bigint, $19::bytea)) \
           as n (token_digest, kind, scope, issued_at, expires_at, access_digest) \
         where n.token_digest is not null"
    };
}

/// Creates the family ($1–$7), then its tokens.
const INSERT_GRANT: &str = concat!(
    "with family as ( \
       insert into grant_family (family_id, client_id, username, grant_type, scope, created_at, expires_at) \
       values ($1, $2, $3, $4, $5, $6, $7) returning family_id) ",
    insert_grant_tokens!()
);

/// [`INSERT_GRANT`], only when the code `$20` is consumed at `$21` — only while it is unused and
/// unexpired: under concurrent exchanges PostgreSQL re-checks that condition after the winner
/// commits, so exactly one creates the family.
const EXCHANGE_CODE: &str = concat!(
    "with consumed as ( \
       update authorization_code set consumed_at = $21 \
       where code_digest = $20 and consumed_at is null and expires_at > $21 \
       returning code_digest), \
     family as ( \
       insert into grant_family (family_id, client_id, username, grant_type, scope, created_at, expires_at) \
       select $1, $2, $3, $4, $5, $6, $7 from consumed returning family_id), \
     inserted as (",
    insert_grant_tokens!(),
    ") select count(*) from consumed"
);

/// Consumes the old refresh token — only while neither consumed nor revoked: under concurrent
/// rotations PostgreSQL re-checks that condition after the winner commits, so exactly one
/// rotates — revokes its access token, and inserts the new pair, only when the consume matched.
const ROTATE: &str = "with consumed as ( \
       update token set consumed_at = $2, successor_digest = $3, replay_sealed = $4, replay_until = $5 \
       where token_digest = $1 and kind = 'refresh' and consumed_at is null and revoked_at is null \
       returning family_id), \
     revoked as ( \
       update token set revoked_at = $2 \
       where token_digest = $6 and revoked_at is null and exists (select 1 from consumed)), \
     inserted as ( \
       insert into token (token_digest, kind, family_id, scope, issued_at, expires_at, access_digest) \
       select n.token_digest, n.kind, c.family_id, n.scope, n.issued_at, n.expires_at, n.access_digest \
       from consumed c cross join (values \
         ($7::bytea, $8::text, $9::text, $10::bigint, $11::bigint, $12::bytea), \
         ($13::bytea, $14::text, $15::text, $16::bigint, $17::bigint, $18::bytea)) \
         as n (token_digest, kind, scope, issued_at, expires_at, access_digest)) \
     select count(*) from consumed";

/// Points the refresh token at its new access token — only while it is neither consumed nor
/// revoked — revokes the previous access token, and inserts the new one.
const REFRESH_IN_PLACE: &str = "with updated as ( \
       update token set access_digest = $4 \
       where token_digest = $1 and kind = 'refresh' and consumed_at is null and revoked_at is null \
       returning family_id), \
     revoked as ( \
       update token set revoked_at = $2 \
       where token_digest = $3 and revoked_at is null and exists (select 1 from updated)), \
     inserted as ( \
       insert into token (token_digest, kind, family_id, scope, issued_at, expires_at, access_digest) \
       select $4, $5, u.family_id, $6, $7, $8, $9 from updated u) \
     select count(*) from updated";

/// The janitor's advisory lock: one key per database (advisory locks do not reach across
/// databases), `oauthdja` in ASCII.
const JANITOR_LOCK_KEY: i64 = 0x6f61_7574_6864_6a61;

/// Takes the lock if no session holds it, without waiting.
const TRY_LOCK_JANITOR: &str = "select pg_try_advisory_lock($1)";

type PgQuery<'q> = Query<'q, Postgres, PgArguments>;

/// Binds a token row's columns but its family: digest, kind, scope, issued_at, expires_at,
/// access_digest — or six nulls for an absent row.
fn bind_token<'q>(query: PgQuery<'q>, token: Option<&'q NewToken>) -> PgQuery<'q> {
    query
        .bind(token.map(|t| &t.digest))
        .bind(token.map(|t| t.kind))
        .bind(token.map(|t| t.scope.as_str()))
        .bind(token.map(|t| t.issued_at))
        .bind(token.map(|t| t.expires_at))
        .bind(token.and_then(|t| t.access_digest.as_ref()))
}

impl Dialect for &mut PgConnection {
    async fn insert_grant(self, grant: &NewGrant<'_>) -> Result<(), sqlx::Error> {
        let query = bind_family(sqlx::query(INSERT_GRANT), &grant.family);
        let query = bind_token(bind_token(query, Some(&grant.access)), grant.refresh.as_ref());
        query.execute(self).await?;
        Ok(())
    }

    async fn rotate(self, r: &Rotation<'_>) -> Result<bool, sqlx::Error> {
        let query = sqlx::query(ROTATE)
            .bind(r.old_refresh)
            .bind(r.now)
            .bind(r.new_refresh.digest)
            .bind(r.replay_sealed)
            .bind(r.replay_until)
            .bind(r.revoke_access.as_ref());
        let query = bind_token(bind_token(query, Some(&r.new_access)), Some(&r.new_refresh));
        let consumed: i64 = query.fetch_one(self).await?.try_get(0)?;
        Ok(consumed > 0)
    }

    async fn refresh_in_place(self, r: &InPlace<'_>) -> Result<bool, sqlx::Error> {
        let query = sqlx::query(REFRESH_IN_PLACE).bind(r.refresh).bind(r.now).bind(r.revoke_access.as_ref());
        let updated: i64 = bind_token(query, Some(&r.new_access)).fetch_one(self).await?.try_get(0)?;
        Ok(updated > 0)
    }

    async fn exchange_code(self, e: &CodeExchange<'_>) -> Result<bool, sqlx::Error> {
        let grant = &e.grant;
        let query = bind_family(sqlx::query(EXCHANGE_CODE), &grant.family);
        let query = bind_token(bind_token(query, Some(&grant.access)), grant.refresh.as_ref());
        let consumed: i64 = query.bind(e.code).bind(e.now).fetch_one(self).await?.try_get(0)?;
        Ok(consumed > 0)
    }
}

/// [`Store::try_lock_janitor`](super::Store::try_lock_janitor) on PostgreSQL: instances sharing the
/// database would otherwise run their passes at the same moment over the same oldest rows, and
/// lock them in different orders (`deadlock detected`). A session-level advisory lock, taken
/// without waiting, lets one pass run; the others skip theirs.
///
/// The lock lives on a connection of its own, opened for the pass and closed after it (which
/// releases the lock, as does the connection's loss if the process dies): not one of the pool's,
/// so a pass never holds a pooled connection idle while its own statements wait for one.
pub(super) async fn try_lock_janitor(pool: &PgPool, timeout: Duration) -> Result<Option<PgConnection>, sqlx::Error> {
    let options = pool.connect_options();
    let mut conn = tokio::time::timeout(timeout, options.connect()).await.map_err(|_| sqlx::Error::PoolTimedOut)??;
    let locked: bool = sqlx::query_scalar(TRY_LOCK_JANITOR).bind(JANITOR_LOCK_KEY).fetch_one(&mut conn).await?;
    if locked {
        return Ok(Some(conn));
    }
    // Closing a connection that held nothing: a failure changes nothing.
    let _ = conn.close().await;
    Ok(None)
}

/// Keeps `cache` coherent: listens on [`CLIENT_CHANNEL`] on a connection of its own and drops each
/// client the database reports changed. The cache is on only while the listener is connected; a
/// lost connection drops every row (changes made meanwhile were not heard), and the listener
/// connects again, backing off up to 5 s between attempts.
pub(super) async fn watch_clients(pool: PgPool, cache: Arc<ClientCache>) {
    // Its own one-connection pool: the listener holds its connection for good, and the main
    // pool's connections are all accounted for by the checkout permits.
    let options = (*pool.connect_options()).clone();
    let own = sqlx::pool::PoolOptions::<Postgres>::new().max_connections(1).connect_lazy_with(options);
    let mut pause = Duration::from_millis(100);
    loop {
        match listen(&own).await {
            Ok(mut listener) => {
                cache.turn_on();
                pause = Duration::from_millis(100);
                loop {
                    match listener.try_recv().await {
                        Ok(Some(change)) => cache.forget(change.payload()),
                        // The connection was lost and has been made again (sqlx listens again
                        // before it answers): what changed in between was not heard.
                        Ok(None) => cache.forget_all(),
                        Err(error) => {
                            tracing::warn!(%error, "client change listener lost; client rows are read from the database until it is back");
                            break;
                        }
                    }
                }
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for client changes; client rows are read from the database")
            }
        }
        cache.turn_off();
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(5));
    }
}

async fn listen(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CLIENT_CHANNEL).await?;
    Ok(listener)
}
