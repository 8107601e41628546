//! The store contract: the same calls behave the same on SQLite and PostgreSQL.

use std::ops::Deref;

use oauthd::clock::Clock;
use oauthd::config::{DatabaseUrl, Settings};
use oauthd::store::tokens::Rotation;
use oauthd::store::{ClientStamp, NewClient, NewFamily, NewToken, Store, StoreError, TokenKind};

use crate::helpers::{Backend, Fixture, TestDb};

on_both_backends!(
    migrations_apply_twice_without_harm,
    a_duplicate_client_id_is_a_duplicate_error,
    a_grant_stores_digests_and_loads_back_with_its_family,
    rotation_succeeds_once_and_revokes_the_old_access_token,
    a_rotation_that_fails_midway_changes_nothing,
    revoking_a_family_marks_every_token_of_it,
    revoke_owned_touches_only_the_clients_own_live_token,
    statements_conditioned_on_a_client_row_do_nothing_once_it_changed,
    first_use_is_recorded_once_and_seen_at_once,
    deleting_a_client_removes_its_tokens,
    cleanup_statements_delete_at_most_the_batch_size,
    only_dead_families_are_found_and_a_chain_head_goes_last,
);

/// What these tests are handed: a migrated store on a fresh database, without an app.
struct TestStore {
    store: Store,
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
        Some(TestStore { store, _db: db })
    }
}

impl Deref for TestStore {
    type Target = Store;

    fn deref(&self) -> &Store {
        &self.store
    }
}

const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA";

/// A client row as [`seed_client`] creates it.
fn stamp(client_id: &str) -> ClientStamp<'_> {
    ClientStamp { client_id, secret_version: 1, secret_hash: HASH }
}

async fn seed_client(store: &Store, id: &str) {
    let lists = [vec!["client_credentials".to_owned()], vec!["A".to_owned()]];
    store
        .insert_client(&NewClient {
            client_id: id,
            name: "n",
            secret_hash: HASH,
            grant_types: &lists[0],
            scopes: &lists[1],
            default_scopes: &lists[1],
            now: 1,
        })
        .await
        .expect("insert client");
}

fn token<'a>(digest: &'a [u8; 32], kind: TokenKind, access: Option<&'a [u8; 32]>, now: i64) -> NewToken<'a> {
    NewToken { digest, kind, scope: "A", issued_at: now, expires_at: now + 100, access_digest: access }
}

async fn seed_grant(store: &Store, family_id: &str, access: &[u8; 32], refresh: &[u8; 32], now: i64) {
    let family = NewFamily {
        family_id,
        client: stamp("c1"),
        username: None,
        grant_type: "client_credentials",
        scope: "A",
        created_at: now,
        expires_at: None,
    };
    let inserted = store
        .insert_grant(
            &family,
            &token(access, TokenKind::Access, None, now),
            Some(&token(refresh, TokenKind::Refresh, Some(access), now)),
        )
        .await
        .expect("insert grant");
    assert!(inserted, "the client row is current");
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
            grant_types: &lists,
            scopes: &lists,
            default_scopes: &lists,
            now: 2,
        })
        .await;
    assert!(matches!(again, Err(StoreError::Duplicate)));
    assert_eq!(store.find_client("c1").await.unwrap().unwrap().name, "n", "the original row is intact");
}

async fn a_grant_stores_digests_and_loads_back_with_its_family(store: TestStore) {
    seed_client(&store, "c1").await;
    let now = Clock::System.now();
    seed_grant(&store, "f1", &[1; 32], &[2; 32], now).await;
    let access = store.find_token(&[1; 32]).await.unwrap().expect("access row");
    assert_eq!(access.kind(), Some(TokenKind::Access));
    assert_eq!(access.client_id, "c1");
    assert_eq!(access.family_id, "f1");
    assert_eq!(access.expires_at, now + 100);
    let refresh = store.find_token(&[2; 32]).await.unwrap().expect("refresh row");
    assert_eq!(refresh.access_digest.as_deref(), Some(&[1u8; 32][..]));
    assert!(store.find_token(&[3; 32]).await.unwrap().is_none());
}

async fn rotation_succeeds_once_and_revokes_the_old_access_token(store: TestStore) {
    seed_client(&store, "c1").await;
    seed_grant(&store, "f1", &[1; 32], &[2; 32], 10).await;
    let rotation = |new_access: &'static [u8; 32], new_refresh: &'static [u8; 32]| Rotation {
        family_id: "f1",
        old_refresh: &[2; 32],
        revoke_access: Some(&[1; 32]),
        new_access: token(new_access, TokenKind::Access, None, 20),
        new_refresh: token(new_refresh, TokenKind::Refresh, Some(new_access), 20),
        replay_sealed: Some(b"sealed"),
        replay_until: Some(30),
        now: 20,
    };
    assert!(store.rotate_refresh_token(&rotation(&[3; 32], &[4; 32])).await.unwrap());
    assert!(!store.rotate_refresh_token(&rotation(&[5; 32], &[6; 32])).await.unwrap(), "a second rotation loses");
    assert!(store.find_token(&[5; 32]).await.unwrap().is_none(), "the loser inserted nothing");
    let old = store.find_token(&[2; 32]).await.unwrap().unwrap();
    assert_eq!(old.consumed_at, Some(20));
    assert_eq!(old.successor_digest.as_deref(), Some(&[4u8; 32][..]));
    assert_eq!(old.replay_sealed.as_deref(), Some(&b"sealed"[..]));
    assert_eq!(store.find_token(&[1; 32]).await.unwrap().unwrap().revoked_at, Some(20));
    assert_eq!(store.drop_expired_replays(30, 1000).await.unwrap(), 1);
    assert!(store.find_token(&[2; 32]).await.unwrap().unwrap().replay_sealed.is_none());
}

async fn revoking_a_family_marks_every_token_of_it(store: TestStore) {
    seed_client(&store, "c1").await;
    seed_grant(&store, "f1", &[1; 32], &[2; 32], 10).await;
    seed_grant(&store, "f2", &[3; 32], &[4; 32], 10).await;
    assert!(store.revoke_family("f1", 11).await.unwrap());
    assert!(!store.revoke_family("f1", 12).await.unwrap(), "already revoked");
    for d in [[1u8; 32], [2; 32]] {
        assert_eq!(store.find_token(&d).await.unwrap().unwrap().family_revoked_at, Some(11));
    }
    assert_eq!(store.find_token(&[3; 32]).await.unwrap().unwrap().family_revoked_at, None);
}

async fn deleting_a_client_removes_its_tokens(store: TestStore) {
    seed_client(&store, "c1").await;
    seed_grant(&store, "f1", &[1; 32], &[2; 32], 10).await;
    assert!(store.delete_client("c1").await.unwrap());
    assert!(store.find_token(&[1; 32]).await.unwrap().is_none());
    assert!(!store.delete_client("c1").await.unwrap());
}

async fn cleanup_statements_delete_at_most_the_batch_size(store: TestStore) {
    seed_client(&store, "c1").await;
    for i in 0..5u8 {
        seed_grant(&store, &format!("f{i}"), &[i; 32], &[100 + i; 32], 10).await;
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
    assert!(store.find_token(&[104; 32]).await.unwrap().is_none());
}

async fn only_dead_families_are_found_and_a_chain_head_goes_last(store: TestStore) {
    seed_client(&store, "c1").await;
    // f1: rotated three times at 20, 30, 40; its head expires at 140.
    seed_grant(&store, "f1", &[1; 32], &[2; 32], 10).await;
    let chain: [([u8; 32], [u8; 32]); 3] = [([3; 32], [4; 32]), ([5; 32], [6; 32]), ([7; 32], [8; 32])];
    let mut old = [2u8; 32];
    for (i, (a, r)) in chain.iter().enumerate() {
        let now = 20 + 10 * i as i64;
        let rotation = Rotation {
            family_id: "f1",
            old_refresh: &old,
            revoke_access: None,
            new_access: token(a, TokenKind::Access, None, now),
            new_refresh: token(r, TokenKind::Refresh, Some(a), now),
            replay_sealed: None,
            replay_until: None,
            now,
        };
        assert!(store.rotate_refresh_token(&rotation).await.unwrap());
        old = *r;
    }
    // f2: revoked at 50, tokens expire at 110.
    seed_grant(&store, "f2", &[9; 32], &[10; 32], 10).await;
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
    assert!(store.find_token(&[8; 32]).await.unwrap().is_some(), "the head is kept");
    assert_eq!(store.dead_families(140, 10).await.unwrap().0, ["f1", "f2"], "still findable");
    let last = store.delete_families(&ids).await.unwrap();
    assert_eq!((last.access_tokens, last.refresh_tokens, last.families), (0, 1, 1));
    assert_eq!(store.dead_families(140, 10).await.unwrap().0, ["f2"]);
}

/// A database error inside the rotation transaction (here: the new refresh token's digest already
/// exists, so its INSERT fails after the UPDATEs ran) leaves the old token usable and issues nothing.
async fn a_rotation_that_fails_midway_changes_nothing(store: TestStore) {
    seed_client(&store, "c1").await;
    seed_grant(&store, "f1", &[1; 32], &[2; 32], 10).await;
    seed_grant(&store, "f2", &[7; 32], &[8; 32], 10).await;
    let failing = Rotation {
        family_id: "f1",
        old_refresh: &[2; 32],
        revoke_access: Some(&[1; 32]),
        new_access: token(&[3; 32], TokenKind::Access, None, 20),
        new_refresh: token(&[8; 32], TokenKind::Refresh, Some(&[3; 32]), 20),
        replay_sealed: None,
        replay_until: None,
        now: 20,
    };
    assert!(store.rotate_refresh_token(&failing).await.is_err(), "the duplicate digest fails the transaction");
    let old = store.find_token(&[2; 32]).await.unwrap().unwrap();
    assert_eq!((old.consumed_at, old.successor_digest), (None, None), "the old refresh token is untouched");
    assert_eq!(store.find_token(&[1; 32]).await.unwrap().unwrap().revoked_at, None, "its access token too");
    assert!(store.find_token(&[3; 32]).await.unwrap().is_none(), "nothing was issued");
    let retry = Rotation { new_refresh: token(&[4; 32], TokenKind::Refresh, Some(&[3; 32]), 20), ..failing };
    assert!(store.rotate_refresh_token(&retry).await.unwrap(), "the old token still rotates");
}

/// A client revoking its own token is one statement: an access token alone, or a refresh token's
/// whole family. Anything else — another client's token, the other kind, unknown, already revoked —
/// changes nothing and says so, so the caller can look the token up and answer as RFC 7009 says.
async fn revoke_owned_touches_only_the_clients_own_live_token(store: TestStore) {
    seed_client(&store, "c1").await;
    seed_client(&store, "c2").await;
    seed_grant(&store, "f1", &[1; 32], &[2; 32], 10).await;
    let other = NewFamily {
        family_id: "f2",
        client: stamp("c2"),
        username: None,
        grant_type: "client_credentials",
        scope: "A",
        created_at: 10,
        expires_at: None,
    };
    let (access, refresh) =
        (token(&[5; 32], TokenKind::Access, None, 10), token(&[6; 32], TokenKind::Refresh, None, 10));
    assert!(store.insert_grant(&other, &access, Some(&refresh)).await.unwrap());

    assert_eq!(
        store.revoke_owned(&[5; 32], TokenKind::Access, &stamp("c1"), 20).await.unwrap(),
        None,
        "another client's"
    );
    assert_eq!(
        store.revoke_owned(&[6; 32], TokenKind::Refresh, &stamp("c1"), 20).await.unwrap(),
        None,
        "another client's"
    );
    assert_eq!(
        store.revoke_owned(&[2; 32], TokenKind::Access, &stamp("c1"), 20).await.unwrap(),
        None,
        "the other kind"
    );
    assert_eq!(store.revoke_owned(&[9; 32], TokenKind::Access, &stamp("c1"), 20).await.unwrap(), None, "unknown");
    let untouched = store.find_token(&[5; 32]).await.unwrap().unwrap();
    assert_eq!((untouched.revoked_at, untouched.family_revoked_at), (None, None));

    assert_eq!(store.revoke_owned(&[1; 32], TokenKind::Access, &stamp("c1"), 20).await.unwrap().as_deref(), Some("f1"));
    assert_eq!(store.find_token(&[1; 32]).await.unwrap().unwrap().revoked_at, Some(20));
    let sibling = store.find_token(&[2; 32]).await.unwrap().unwrap();
    assert_eq!((sibling.revoked_at, sibling.family_revoked_at), (None, None), "an access token goes alone");
    assert_eq!(
        store.revoke_owned(&[1; 32], TokenKind::Access, &stamp("c1"), 21).await.unwrap(),
        None,
        "already revoked"
    );
    assert_eq!(store.find_token(&[1; 32]).await.unwrap().unwrap().revoked_at, Some(20), "first time kept");

    assert_eq!(
        store.revoke_owned(&[6; 32], TokenKind::Refresh, &stamp("c2"), 22).await.unwrap().as_deref(),
        Some("f2")
    );
    assert_eq!(store.find_token(&[5; 32]).await.unwrap().unwrap().family_revoked_at, Some(22), "the whole family");
    assert_eq!(
        store.revoke_owned(&[6; 32], TokenKind::Refresh, &stamp("c2"), 23).await.unwrap(),
        None,
        "already revoked"
    );
}

/// The first use of an access token is recorded once, and — though PostgreSQL writes it through
/// the pool that does not wait for the WAL flush — every later read sees it at once.
async fn first_use_is_recorded_once_and_seen_at_once(store: TestStore) {
    seed_client(&store, "c1").await;
    seed_grant(&store, "f1", &[1; 32], &[2; 32], 10).await;
    assert!(store.mark_first_use(&[1; 32], 15).await.unwrap(), "the first call records it");
    assert_eq!(store.find_token(&[1; 32]).await.unwrap().unwrap().first_used_at, Some(15));
    assert!(!store.mark_first_use(&[1; 32], 16).await.unwrap(), "a later call does not");
    assert_eq!(store.find_token(&[1; 32]).await.unwrap().unwrap().first_used_at, Some(15), "the first time is kept");
    assert!(!store.mark_first_use(&[9; 32], 16).await.unwrap(), "an unknown digest changes nothing");
}

/// The hot statements run on a client row taken from the verified-secret cache are conditioned
/// on it: once the row changed (a new secret version, or the client deleted and created again
/// with a new hash), they change nothing and say so; the lookup says so even for an unknown token.
async fn statements_conditioned_on_a_client_row_do_nothing_once_it_changed(store: TestStore) {
    seed_client(&store, "c1").await;
    seed_grant(&store, "f1", &[1; 32], &[2; 32], 10).await;
    let current = stamp("c1");
    let stale = ClientStamp { secret_version: 2, ..current };
    let recreated = ClientStamp { secret_hash: "$argon2id$v=19$m=19456,t=2,p=1$b3RoZXJzYWx0$b3RoZXI", ..current };
    assert!(store.client_is_current(&current).await.unwrap());
    for changed in [stale, recreated] {
        assert!(!store.client_is_current(&changed).await.unwrap());

        let found = store.find_token_as_client(&[1; 32], &changed).await.unwrap();
        assert!(!found.client_current);
        assert!(found.token.is_some(), "the lookup itself is unconditioned");

        let family = NewFamily {
            family_id: "f9",
            client: changed,
            username: None,
            grant_type: "client_credentials",
            scope: "A",
            created_at: 10,
            expires_at: None,
        };
        let access = token(&[9; 32], TokenKind::Access, None, 10);
        assert!(!store.insert_grant(&family, &access, None).await.unwrap(), "nothing inserted");
        assert!(store.find_token(&[9; 32]).await.unwrap().is_none());

        assert_eq!(store.revoke_owned(&[1; 32], TokenKind::Access, &changed, 20).await.unwrap(), None);
        assert_eq!(store.revoke_owned(&[2; 32], TokenKind::Refresh, &changed, 20).await.unwrap(), None);
        let untouched = store.find_token(&[1; 32]).await.unwrap().unwrap();
        assert_eq!((untouched.revoked_at, untouched.family_revoked_at), (None, None));
    }
    let found = store.find_token_as_client(&[1; 32], &current).await.unwrap();
    assert!(found.client_current);
    assert_eq!(found.token.expect("found").family_id, "f1");
    let unknown = store.find_token_as_client(&[7; 32], &current).await.unwrap();
    assert!(unknown.client_current && unknown.token.is_none(), "one row even for an unknown token");
    assert!(!store.find_token_as_client(&[7; 32], &stale).await.unwrap().client_current);
}
