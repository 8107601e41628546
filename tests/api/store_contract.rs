//! The store contract: the same calls behave the same on SQLite and PostgreSQL.

use std::ops::Deref;
use std::time::{Duration, Instant};

use oauthd::clock::Clock;
use oauthd::config::{DatabaseSettings, DatabaseUrl, Settings};
use oauthd::store::tokens::{InPlace, Rotation};
use oauthd::store::{
    Digest, GrantType, NewClient, NewFamily, NewGrant, NewToken, Revocation, Store, StoreError, TokenKind,
};

use crate::helpers::{Backend, Fixture, TestDb};

on_both_backends!(
    migrations_apply_twice_without_harm,
    a_duplicate_client_id_is_a_duplicate_error,
    a_grant_stores_digests_and_loads_back_with_its_family,
    a_grant_for_a_deleted_client_is_refused_as_gone,
    rotation_succeeds_once_and_revokes_the_old_access_token,
    a_rotation_that_fails_midway_changes_nothing,
    a_refresh_in_place_points_the_refresh_token_at_its_new_access_token,
    revoking_a_family_marks_every_token_of_it,
    revoke_token_touches_only_the_owners_token_and_says_why_not,
    first_use_is_recorded_once_and_seen_at_once,
    deleting_a_client_removes_its_tokens,
    cleanup_statements_delete_at_most_the_batch_size,
    only_dead_families_are_found_and_a_chain_head_goes_last,
    a_client_change_made_through_one_store_reaches_the_cache_of_another,
    a_client_change_made_through_the_same_store_drops_its_row_at_once,
    the_janitor_lock_is_held_by_one_store_at_a_time_on_postgresql,
    a_key_with_a_nul_byte_is_found_nowhere_and_any_other_statement_binding_it_says_why,
);

/// What these tests are handed: a migrated store on a fresh database, without an app.
struct TestStore {
    store: Store,
    url: String,
    /// Dropped last: removes the database.
    _db: TestDb,
}

impl Fixture for TestStore {
    async fn set_up(backend: Backend, configure: fn(&mut Settings)) -> Option<TestStore> {
        let (db, url) = TestDb::create(backend).await?;
        let mut settings = Settings::default();
        settings.database.url = DatabaseUrl::new(&url);
        configure(&mut settings);
        let store = Store::connect(&settings.database).await.expect("connect");
        store.migrate().await.expect("migrate");
        Some(TestStore { store, url, _db: db })
    }
}

impl Deref for TestStore {
    type Target = Store;

    fn deref(&self) -> &Store {
        &self.store
    }
}

async fn connect(url: &str) -> Store {
    let settings = DatabaseSettings { url: DatabaseUrl::new(url), ..DatabaseSettings::default() };
    Store::connect(&settings).await.expect("connect")
}

const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA";

fn d(byte: u8) -> Digest {
    Digest::new([byte; 32])
}

async fn seed_client(store: &Store, id: &str) {
    let scopes = vec!["A".to_owned()];
    store
        .insert_client(&NewClient {
            client_id: id,
            name: "n",
            secret_hash: HASH,
            grant_types: &[GrantType::ClientCredentials],
            scopes: &scopes,
            default_scopes: &scopes,
            redirect_uris: &[],
            public: false,
            pkce_required: true,
            first_party: false,
            owner: None,
            now: 1,
        })
        .await
        .expect("insert client");
}

fn token(digest: Digest, kind: TokenKind, access: Option<Digest>, now: i64) -> NewToken {
    NewToken { digest, kind, scope: "A".into(), issued_at: now, expires_at: now + 100, access_digest: access }
}

fn family<'a>(family_id: &'a str, client_id: &'a str, now: i64) -> NewFamily<'a> {
    NewFamily {
        family_id,
        client_id,
        username: None,
        grant_type: GrantType::ClientCredentials,
        scope: "A",
        created_at: now,
        expires_at: None,
    }
}

async fn seed_grant_of(store: &Store, client_id: &str, family_id: &str, access: u8, refresh: u8, now: i64) {
    let grant = NewGrant {
        family: family(family_id, client_id, now),
        access: token(d(access), TokenKind::Access, None, now),
        refresh: Some(token(d(refresh), TokenKind::Refresh, Some(d(access)), now)),
    };
    store.insert_grant(&grant).await.expect("insert grant");
}

async fn seed_grant(store: &Store, family_id: &str, access: u8, refresh: u8, now: i64) {
    seed_grant_of(store, "c1", family_id, access, refresh, now).await
}

fn rotation(old: u8, revoke: Option<u8>, new_access: u8, new_refresh: u8, now: i64) -> Rotation<'static> {
    Rotation {
        family_id: "f1",
        old_refresh: d(old),
        revoke_access: revoke.map(d),
        new_access: token(d(new_access), TokenKind::Access, None, now),
        new_refresh: token(d(new_refresh), TokenKind::Refresh, Some(d(new_access)), now),
        replay_sealed: None,
        replay_until: None,
        now,
    }
}

async fn migrations_apply_twice_without_harm(store: TestStore) {
    store.migrate().await.expect("second migrate is a no-op");
    store.ping().await.expect("ping");
}

async fn a_duplicate_client_id_is_a_duplicate_error(store: TestStore) {
    seed_client(&store, "c1").await;
    let lists = vec!["client_credentials".to_owned()];
    let again = store
        .insert_client(&NewClient {
            client_id: "c1",
            name: "other",
            secret_hash: "x",
            grant_types: &[GrantType::Password],
            scopes: &lists,
            default_scopes: &lists,
            redirect_uris: &[],
            public: false,
            pkce_required: true,
            first_party: false,
            owner: None,
            now: 2,
        })
        .await;
    assert!(matches!(again, Err(StoreError::Duplicate)));
    let kept = store.find_client("c1").await.unwrap().unwrap();
    assert_eq!((kept.name.as_str(), kept.grant_types.as_slice()), ("n", &[GrantType::ClientCredentials][..]));
}

async fn a_grant_stores_digests_and_loads_back_with_its_family(store: TestStore) {
    seed_client(&store, "c1").await;
    let now = Clock::System.now();
    seed_grant(&store, "f1", 1, 2, now).await;
    let access = store.find_token(&d(1)).await.unwrap().expect("access row");
    assert_eq!(access.kind, TokenKind::Access);
    assert_eq!(access.token_digest, d(1));
    assert_eq!(access.client_id, "c1");
    assert_eq!(access.family_id, "f1");
    assert_eq!(access.grant_type, GrantType::ClientCredentials);
    assert_eq!(access.expires_at, now + 100);
    let refresh = store.find_token(&d(2)).await.unwrap().expect("refresh row");
    assert_eq!(refresh.kind, TokenKind::Refresh);
    assert_eq!(refresh.access_digest, Some(d(1)));
    assert!(store.find_token(&d(3)).await.unwrap().is_none());
}

/// A client deleted between authentication and issue: the grant's insert names a client that no
/// longer exists, which is [`StoreError::Gone`] (answered 503, retryable), never a 500.
async fn a_grant_for_a_deleted_client_is_refused_as_gone(store: TestStore) {
    let grant = NewGrant {
        family: family("f1", "nobody", 10),
        access: token(d(1), TokenKind::Access, None, 10),
        refresh: None,
    };
    assert!(matches!(store.insert_grant(&grant).await, Err(StoreError::Gone)));
    assert!(store.find_token(&d(1)).await.unwrap().is_none());
}

async fn rotation_succeeds_once_and_revokes_the_old_access_token(store: TestStore) {
    seed_client(&store, "c1").await;
    seed_grant(&store, "f1", 1, 2, 10).await;
    let first = Rotation { replay_sealed: Some(b"sealed"), replay_until: Some(30), ..rotation(2, Some(1), 3, 4, 20) };
    assert!(store.rotate_refresh_token(&first).await.unwrap());
    assert!(!store.rotate_refresh_token(&rotation(2, Some(1), 5, 6, 20)).await.unwrap(), "a second rotation loses");
    assert!(store.find_token(&d(5)).await.unwrap().is_none(), "the loser inserted nothing");
    let old = store.find_token(&d(2)).await.unwrap().unwrap();
    assert_eq!(old.consumed_at, Some(20));
    assert_eq!(old.successor_digest, Some(d(4)));
    assert_eq!(old.replay_sealed.as_deref(), Some(&b"sealed"[..]));
    assert_eq!(store.find_token(&d(1)).await.unwrap().unwrap().revoked_at, Some(20));
    let new = store.find_token(&d(4)).await.unwrap().unwrap();
    assert_eq!((new.kind, new.family_id.as_str(), new.access_digest), (TokenKind::Refresh, "f1", Some(d(3))));
    assert_eq!(store.drop_expired_replays(30, 1000).await.unwrap(), 1);
    assert!(store.find_token(&d(2)).await.unwrap().unwrap().replay_sealed.is_none());
}

/// A database error inside the rotation (here: the new refresh token's digest already exists, so
/// its insert fails after the updates ran) leaves the old token usable and issues nothing.
async fn a_rotation_that_fails_midway_changes_nothing(store: TestStore) {
    seed_client(&store, "c1").await;
    seed_grant(&store, "f1", 1, 2, 10).await;
    seed_grant(&store, "f2", 7, 8, 10).await;
    let failing = rotation(2, Some(1), 3, 8, 20);
    assert!(store.rotate_refresh_token(&failing).await.is_err(), "the duplicate digest fails the rotation");
    let old = store.find_token(&d(2)).await.unwrap().unwrap();
    assert_eq!((old.consumed_at, old.successor_digest), (None, None), "the old refresh token is untouched");
    assert_eq!(store.find_token(&d(1)).await.unwrap().unwrap().revoked_at, None, "its access token too");
    assert!(store.find_token(&d(3)).await.unwrap().is_none(), "nothing was issued");
    assert!(store.rotate_refresh_token(&rotation(2, Some(1), 3, 4, 20)).await.unwrap(), "the old token still rotates");
}

async fn a_refresh_in_place_points_the_refresh_token_at_its_new_access_token(store: TestStore) {
    seed_client(&store, "c1").await;
    seed_grant(&store, "f1", 1, 2, 10).await;
    let in_place = |new: u8, now: i64| InPlace {
        family_id: "f1",
        refresh: d(2),
        revoke_access: Some(d(1)),
        new_access: token(d(new), TokenKind::Access, None, now),
        now,
    };
    assert!(store.refresh_in_place(&in_place(3, 20)).await.unwrap());
    let refresh = store.find_token(&d(2)).await.unwrap().unwrap();
    assert_eq!((refresh.access_digest, refresh.consumed_at), (Some(d(3)), None), "kept, now with the new access token");
    assert_eq!(store.find_token(&d(1)).await.unwrap().unwrap().revoked_at, Some(20), "the old access token is revoked");
    let new = store.find_token(&d(3)).await.unwrap().unwrap();
    assert_eq!((new.kind, new.family_id.as_str(), new.expires_at), (TokenKind::Access, "f1", 120));

    assert!(store.rotate_refresh_token(&rotation(2, None, 5, 6, 30)).await.unwrap());
    assert!(!store.refresh_in_place(&in_place(4, 31)).await.unwrap(), "a rotated refresh token is no longer usable");
    assert!(store.find_token(&d(4)).await.unwrap().is_none(), "nothing was inserted");
}

async fn revoking_a_family_marks_every_token_of_it(store: TestStore) {
    seed_client(&store, "c1").await;
    seed_grant(&store, "f1", 1, 2, 10).await;
    seed_grant(&store, "f2", 3, 4, 10).await;
    assert!(store.revoke_family("f1", 11).await.unwrap());
    assert!(!store.revoke_family("f1", 12).await.unwrap(), "already revoked");
    for digest in [d(1), d(2)] {
        assert_eq!(store.find_token(&digest).await.unwrap().unwrap().family_revoked_at, Some(11));
    }
    assert_eq!(store.find_token(&d(3)).await.unwrap().unwrap().family_revoked_at, None);
    assert_eq!(store.revoke_client_families("c1", 13).await.unwrap(), 1, "only f2 was still live");
}

/// One revocation path for clients and the operator: an access token alone, or a refresh token's
/// whole family, only when the token is the owner's (any owner's for the operator). Anything else
/// changes nothing and says why: another client's, unknown (also a digest of the other kind), or
/// already revoked.
async fn revoke_token_touches_only_the_owners_token_and_says_why_not(store: TestStore) {
    seed_client(&store, "c1").await;
    seed_client(&store, "c2").await;
    seed_grant(&store, "f1", 1, 2, 10).await;
    seed_grant_of(&store, "c2", "f2", 5, 6, 10).await;
    seed_grant_of(&store, "c2", "f3", 7, 8, 10).await;
    let revoke = |digest: u8, kind, owner, now| {
        let store = store.clone();
        async move { store.revoke_token(&d(digest), kind, owner, now).await.unwrap() }
    };

    assert_eq!(revoke(5, TokenKind::Access, Some("c1"), 20).await, Revocation::OtherClient);
    assert_eq!(revoke(6, TokenKind::Refresh, Some("c1"), 20).await, Revocation::OtherClient);
    assert_eq!(revoke(2, TokenKind::Access, Some("c1"), 20).await, Revocation::Unknown, "the other kind");
    assert_eq!(revoke(9, TokenKind::Access, Some("c1"), 20).await, Revocation::Unknown);
    let untouched = store.find_token(&d(5)).await.unwrap().unwrap();
    assert_eq!((untouched.revoked_at, untouched.family_revoked_at), (None, None));

    let f1 = || Some("f1".to_owned());
    assert_eq!(revoke(1, TokenKind::Access, Some("c1"), 20).await, Revocation::Revoked { family_id: "f1".into() });
    assert_eq!(store.find_token(&d(1)).await.unwrap().unwrap().revoked_at, Some(20));
    let sibling = store.find_token(&d(2)).await.unwrap().unwrap();
    assert_eq!((sibling.revoked_at, sibling.family_revoked_at), (None, None), "an access token goes alone");
    let again = revoke(1, TokenKind::Access, Some("c1"), 21).await;
    assert_eq!(Some(again), f1().map(|family_id| Revocation::AlreadyRevoked { family_id }));
    assert_eq!(store.find_token(&d(1)).await.unwrap().unwrap().revoked_at, Some(20), "first time kept");

    assert_eq!(revoke(6, TokenKind::Refresh, Some("c2"), 22).await, Revocation::Revoked { family_id: "f2".into() });
    assert_eq!(store.find_token(&d(5)).await.unwrap().unwrap().family_revoked_at, Some(22), "the whole family");
    assert_eq!(
        revoke(6, TokenKind::Refresh, Some("c2"), 23).await,
        Revocation::AlreadyRevoked { family_id: "f2".into() }
    );

    assert_eq!(
        revoke(8, TokenKind::Refresh, None, 24).await,
        Revocation::Revoked { family_id: "f3".into() },
        "the operator"
    );
    assert_eq!(store.find_token(&d(7)).await.unwrap().unwrap().family_revoked_at, Some(24));
}

/// The first use of an access token is recorded once, and — though PostgreSQL writes it through
/// the pool that does not wait for the WAL flush — every later read sees it at once.
async fn first_use_is_recorded_once_and_seen_at_once(store: TestStore) {
    seed_client(&store, "c1").await;
    seed_grant(&store, "f1", 1, 2, 10).await;
    assert!(store.mark_first_use(&d(1), 15).await.unwrap(), "the first call records it");
    assert_eq!(store.find_token(&d(1)).await.unwrap().unwrap().first_used_at, Some(15));
    assert!(!store.mark_first_use(&d(1), 16).await.unwrap(), "a later call does not");
    assert_eq!(store.find_token(&d(1)).await.unwrap().unwrap().first_used_at, Some(15), "the first time is kept");
    assert!(!store.mark_first_use(&d(9), 16).await.unwrap(), "an unknown digest changes nothing");
}

async fn deleting_a_client_removes_its_tokens(store: TestStore) {
    seed_client(&store, "c1").await;
    seed_grant(&store, "f1", 1, 2, 10).await;
    assert!(store.delete_client("c1").await.unwrap());
    assert!(store.find_token(&d(1)).await.unwrap().is_none());
    assert!(!store.delete_client("c1").await.unwrap());
}

async fn cleanup_statements_delete_at_most_the_batch_size(store: TestStore) {
    seed_client(&store, "c1").await;
    for i in 0..5u8 {
        seed_grant(&store, &format!("f{i}"), i, 100 + i, 10).await;
    }
    // Everything expires at 110.
    let mut access = Vec::new();
    loop {
        let removed = store.delete_expired_access_tokens(200, 2).await.unwrap();
        assert!(removed.access_tokens <= 2);
        assert_eq!(removed.families, 0, "the refresh tokens keep their families");
        access.push(removed.access_tokens);
        if removed.access_tokens < 2 {
            break;
        }
    }
    assert_eq!(access, [2, 2, 1]);
    let mut families = 0;
    loop {
        let (ids, found) = store.dead_families(200, 2).await.unwrap();
        assert!(found <= 2 && ids.len() <= found);
        if ids.is_empty() {
            break;
        }
        let removed = store.delete_families(&ids).await.unwrap();
        assert_eq!((removed.refresh_tokens, removed.families), (ids.len() as u64, ids.len() as u64));
        families += removed.families;
    }
    assert_eq!(families, 5);
    assert!(store.find_token(&d(104)).await.unwrap().is_none());
}

async fn only_dead_families_are_found_and_a_chain_head_goes_last(store: TestStore) {
    seed_client(&store, "c1").await;
    // f1: rotated three times at 20, 30, 40; its head expires at 140.
    seed_grant(&store, "f1", 1, 2, 10).await;
    let mut old = 2;
    for (i, (access, refresh)) in [(3, 4), (5, 6), (7, 8)].into_iter().enumerate() {
        let now = 20 + 10 * i as i64;
        assert!(store.rotate_refresh_token(&rotation(old, None, access, refresh, now)).await.unwrap());
        old = refresh;
    }
    // f2: revoked at 50, tokens expire at 110.
    seed_grant(&store, "f2", 9, 10, 10).await;
    store.revoke_family("f2", 50).await.unwrap();
    assert_eq!(store.dead_families(49, 10).await.unwrap().0, Vec::<String>::new());
    assert_eq!(store.dead_families(50, 10).await.unwrap().0, ["f2"]);
    assert_eq!(store.dead_families(139, 10).await.unwrap().0, ["f2"], "f1's head lives");
    assert_eq!(store.dead_families(140, 10).await.unwrap().0, ["f1", "f2"]);

    let ids = vec!["f1".to_owned()];
    let first = store.delete_family_tokens(&ids, 4).await.unwrap();
    assert_eq!(first.tokens(), 4);
    let second = store.delete_family_tokens(&ids, 4).await.unwrap();
    assert_eq!(second.tokens(), 3, "4 access tokens and 3 rotated refresh tokens");
    assert_eq!(store.delete_family_tokens(&ids, 4).await.unwrap().tokens(), 0);
    assert!(store.find_token(&d(8)).await.unwrap().is_some(), "the head is kept");
    assert_eq!(store.dead_families(140, 10).await.unwrap().0, ["f1", "f2"], "still findable");
    let last = store.delete_families(&ids).await.unwrap();
    assert_eq!((last.access_tokens, last.refresh_tokens, last.families), (0, 1, 1));
    assert_eq!(store.dead_families(140, 10).await.unwrap().0, ["f2"]);
}

/// Reads the client until the store keeps its row (a notification of the client's own creation
/// may arrive after the first read and drop it).
async fn read_until_cached(store: &Store, client_id: &str) {
    let start = Instant::now();
    loop {
        assert!(store.find_client(client_id).await.unwrap().is_some());
        tokio::time::sleep(Duration::from_millis(20)).await;
        if store.cached_client(client_id).is_some() {
            return;
        }
        assert!(start.elapsed() < Duration::from_secs(5), "the row is never kept");
    }
}

/// Waits (up to 5 s: the documented bound is 1 s) until `done` holds, and says how long it took.
async fn within_bound(what: &str, mut done: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < Duration::from_secs(5), "{what}: not within 5 s");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    start.elapsed()
}

/// Two processes on one database, as two instances or the server and the CLI are: a change made
/// through one store (a new secret, an update, a deletion) drops the row from the other's cache —
/// told by NOTIFY on PostgreSQL, by the change counter on SQLite — and the other's next lookup
/// reads the new row.
async fn a_client_change_made_through_one_store_reaches_the_cache_of_another(writer: TestStore) {
    let reader = connect(&writer.url).await;
    let watcher = reader.watch_client_changes();
    within_bound("the reader's cache turns on", || reader.client_cache_is_on()).await;
    seed_client(&writer, "c1").await;

    for change in ["secret", "update", "delete"] {
        read_until_cached(&reader, "c1").await;
        match change {
            "secret" => assert!(writer.set_client_secret("c1", "new-hash", 2).await.unwrap()),
            "update" => assert!(writer.set_client_disabled("c1", Some(3), 3).await.unwrap()),
            _ => assert!(writer.delete_client("c1").await.unwrap()),
        }
        let took = within_bound(change, || reader.cached_client("c1").is_none()).await;
        eprintln!("a client {change} reached the other store's cache in {took:?}");
        let after = reader.find_client("c1").await.unwrap();
        match change {
            "secret" => assert_eq!(after.unwrap().secret_hash, "new-hash"),
            "update" => assert_eq!(after.unwrap().disabled_at, Some(3)),
            _ => assert!(after.is_none()),
        }
    }
    watcher.abort();
}

async fn a_client_change_made_through_the_same_store_drops_its_row_at_once(store: TestStore) {
    let watcher = store.watch_client_changes();
    within_bound("the cache turns on", || store.client_cache_is_on()).await;
    seed_client(&store, "c1").await;
    read_until_cached(&store, "c1").await;
    assert_eq!(store.cached_client("c1").unwrap().secret_hash, HASH);
    store.set_client_secret("c1", "new-hash", 2).await.unwrap();
    assert!(store.cached_client("c1").is_none(), "dropped before the call returned");
    assert_eq!(store.find_client("c1").await.unwrap().unwrap().secret_hash, "new-hash");
    watcher.abort();
    store.close().await;
    assert!(!store.client_cache_is_on(), "a closed store keeps nothing");
}

/// PostgreSQL: one pass at a time among the stores sharing a database, the lock freed when its
/// holder releases it or goes away. SQLite: nothing to exclude, every store gets it.
async fn the_janitor_lock_is_held_by_one_store_at_a_time_on_postgresql(store: TestStore) {
    let other = connect(&store.url).await;
    let first = store.try_lock_janitor().await.unwrap().expect("a free lock is taken");
    let second = other.try_lock_janitor().await.unwrap();
    match store.backend_name() {
        "postgres" => assert!(second.is_none(), "taken by the first store"),
        _ => assert!(second.is_some(), "SQLite needs no exclusion"),
    }
    if let Some(second) = second {
        second.release().await;
    }
    first.release().await;
    let again = other.try_lock_janitor().await.unwrap().expect("released, so free again");
    drop(again);
    // A lock dropped without release goes with its connection.
    let start = Instant::now();
    loop {
        if let Some(lock) = store.try_lock_janitor().await.unwrap() {
            lock.release().await;
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(5), "a dropped lock was not freed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A lookup by a key PostgreSQL cannot hold finds nothing on either backend, without a query; a
/// statement that binds such a text anyway fails on PostgreSQL as "unstorable", which the protocol
/// layer answers as a malformed request, not a server error.
async fn a_key_with_a_nul_byte_is_found_nowhere_and_any_other_statement_binding_it_says_why(store: TestStore) {
    store.insert_user("alice", "hash", 0).await.unwrap();
    assert!(store.find_client("x\0").await.unwrap().is_none());
    assert!(store.find_user("alice\0").await.unwrap().is_none());
    assert!(store.find_user("alice").await.unwrap().is_some());
    match store.delete_user("alice\0").await {
        Ok(deleted) => {
            assert_eq!(store.backend_name(), "sqlite", "only SQLite can hold a NUL");
            assert!(!deleted);
        }
        Err(e) => {
            assert_eq!(store.backend_name(), "postgres");
            assert!(e.is_unstorable_text(), "{e}");
            assert!(!e.is_retryable() && !e.is_connection_lost());
        }
    }
    assert!(store.find_user("alice").await.unwrap().is_some());
}
