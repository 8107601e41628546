//! Dialect fork, PostgreSQL only: the two hot write steps as one data-modifying statement each.
//!
//! A transaction costs a round trip per statement plus BEGIN and COMMIT: a rotation was six, a new
//! grant four. PostgreSQL runs `WITH … (UPDATE | INSERT …) …` as one atomic statement in its own
//! implicit transaction, so each step is one round trip with the same all-or-nothing outcome.
//! SQLite has no data-modifying WITH; it keeps the transactions in [`super::tokens`], which the
//! store contract suite holds to the same behaviour.

use sqlx::PgConnection;

use super::clients::{bind_stamp, client_unchanged};
use super::tokens::{bind_family, NewFamily, NewToken, Rotation};

/// Consumes the old refresh token (only while neither consumed nor revoked: under concurrent
/// rotations PostgreSQL re-checks that condition after the winner commits, so exactly one rotates),
/// revokes its access token, and inserts the new pair — only when the consume matched a row.
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
         ($7::bytea, 'access', $8::text, $9::bigint, $10::bigint, null::bytea), \
         ($3::bytea, 'refresh', $11::text, $12::bigint, $13::bigint, $7::bytea)) \
         as n (token_digest, kind, scope, issued_at, expires_at, access_digest)) \
     select count(*) from consumed";

pub(super) async fn rotate(conn: &mut PgConnection, r: &Rotation<'_>) -> Result<bool, sqlx::Error> {
    let (access, refresh) = (&r.new_access, &r.new_refresh);
    let consumed: i64 = sqlx::query_scalar(ROTATE)
        .bind(&r.old_refresh[..])
        .bind(r.now)
        .bind(&refresh.digest[..])
        .bind(r.replay_sealed)
        .bind(r.replay_until)
        .bind(r.revoke_access)
        .bind(&access.digest[..])
        .bind(access.scope)
        .bind(access.issued_at)
        .bind(access.expires_at)
        .bind(refresh.scope)
        .bind(refresh.issued_at)
        .bind(refresh.expires_at)
        .fetch_one(conn)
        .await?;
    Ok(consumed > 0)
}

/// Inserts the family and its tokens — only while the client row is the one the request saw
/// (`$20`–`$22`); the refresh row is skipped when its digest is null. Nothing inserted means the
/// client row changed.
const INSERT_GRANT: &str = concat!(
    "with family as ( \
       insert into grant_family (family_id, client_id, username, grant_type, scope, created_at, expires_at) \
       select $1, $2, $3, $4, $5, $6, $7 where ",
    client_unchanged!(20, 21, 22),
    " returning family_id) \
     insert into token (token_digest, kind, family_id, scope, issued_at, expires_at, access_digest) \
     select n.token_digest, n.kind, f.family_id, n.scope, n.issued_at, n.expires_at, n.access_digest \
     from family f cross join (values \
       ($8::bytea, $9::text, $10::text, $11::bigint, $12::bigint, $13::bytea), \
       ($14::bytea, $15::text, $16::text, $17::bigint, $18::bigint, $19::bytea)) \
       as n (token_digest, kind, scope, issued_at, expires_at, access_digest) \
     where n.token_digest is not null"
);

pub(super) async fn insert_grant(
    conn: &mut PgConnection,
    family: &NewFamily<'_>,
    access: &NewToken<'_>,
    refresh: Option<&NewToken<'_>>,
) -> Result<bool, sqlx::Error> {
    let query = bind_family!(sqlx::query(INSERT_GRANT), family)
        .bind(&access.digest[..])
        .bind(access.kind.as_str())
        .bind(access.scope)
        .bind(access.issued_at)
        .bind(access.expires_at)
        .bind(access.access_digest.map(|d| &d[..]))
        .bind(refresh.map(|t| &t.digest[..]))
        .bind(refresh.map(|t| t.kind.as_str()))
        .bind(refresh.map(|t| t.scope))
        .bind(refresh.map(|t| t.issued_at))
        .bind(refresh.map(|t| t.expires_at))
        .bind(refresh.and_then(|t| t.access_digest).map(|d| &d[..]));
    let inserted = bind_stamp!(query, family.client).execute(conn).await?;
    Ok(inserted.rows_affected() > 0)
}
