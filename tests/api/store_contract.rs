//! The store contract: the same calls behave the same on SQLite and PostgreSQL.

use oauthd::clock::Clock;
use oauthd::config::DatabaseSettings;
use oauthd::config::DatabaseUrl;
use oauthd::store::tokens::Rotation;
use oauthd::store::{NewClient, NewFamily, NewToken, Store, StoreError, TokenKind};

use crate::helpers::{Backend, TestDb};

on_both_backends!(
    migrations_apply_twice_without_harm,
    a_duplicate_client_id_is_a_duplicate_error,
    a_grant_stores_digests_and_loads_back_with_its_family,
    rotation_succeeds_once_and_revokes_the_old_access_token,
    revoking_a_family_marks_every_token_of_it,
    deleting_a_client_removes_its_tokens,
);

async fn open(backend: Backend) -> Option<(TestDb, Store)> {
    let (db, url) = TestDb::create(backend).await?;
    let settings = DatabaseSettings { url: DatabaseUrl::new(&url), ..DatabaseSettings::default() };
    let store = Store::connect(&settings).await.expect("connect");
    store.migrate().await.expect("migrate");
    Some((db, store))
}

async fn seed_client(store: &Store, id: &str) {
    let lists = [vec!["client_credentials".to_owned()], vec!["A".to_owned()]];
    store
        .insert_client(&NewClient {
            client_id: id,
            name: "n",
            secret_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
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
        client_id: "c1",
        username: None,
        grant_type: "client_credentials",
        scope: "A",
        created_at: now,
        expires_at: None,
    };
    store
        .insert_grant(
            &family,
            &token(access, TokenKind::Access, None, now),
            Some(&token(refresh, TokenKind::Refresh, Some(access), now)),
        )
        .await
        .expect("insert grant");
}

async fn migrations_apply_twice_without_harm(backend: Backend) {
    let Some((_db, store)) = open(backend).await else {
        return;
    };
    store.migrate().await.expect("second migrate is a no-op");
    store.ping().await.expect("ping");
}

async fn a_duplicate_client_id_is_a_duplicate_error(backend: Backend) {
    let Some((_db, store)) = open(backend).await else {
        return;
    };
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

async fn a_grant_stores_digests_and_loads_back_with_its_family(backend: Backend) {
    let Some((_db, store)) = open(backend).await else {
        return;
    };
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

async fn rotation_succeeds_once_and_revokes_the_old_access_token(backend: Backend) {
    let Some((_db, store)) = open(backend).await else {
        return;
    };
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
    assert_eq!(store.drop_expired_replays(30).await.unwrap(), 1);
    assert!(store.find_token(&[2; 32]).await.unwrap().unwrap().replay_sealed.is_none());
}

async fn revoking_a_family_marks_every_token_of_it(backend: Backend) {
    let Some((_db, store)) = open(backend).await else {
        return;
    };
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

async fn deleting_a_client_removes_its_tokens(backend: Backend) {
    let Some((_db, store)) = open(backend).await else {
        return;
    };
    seed_client(&store, "c1").await;
    seed_grant(&store, "f1", &[1; 32], &[2; 32], 10).await;
    assert!(store.delete_client("c1").await.unwrap());
    assert!(store.find_token(&[1; 32]).await.unwrap().is_none());
    assert!(!store.delete_client("c1").await.unwrap());
}
