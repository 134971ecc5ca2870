//! In-flight keys of instances that died: a retry takes the key over (once, of
//! however many try), a live instance keeps its keys, and a leaving instance frees
//! its keys at once.

use std::sync::Arc;

use payport_domain::ports::{Abandoned, IdempotencyRecord, IdempotencyStore, IN_FLIGHT};
use tokio::sync::Barrier;

use super::fixtures::at;
use super::StoreUnderTest;

const HASH: &str = "sha256:ffff";

fn held(key: &str, holder: Option<&str>, secs: i64) -> IdempotencyRecord {
    IdempotencyRecord {
        key: key.into(),
        request_hash: HASH.into(),
        http_status: IN_FLIGHT,
        response_body: String::new(),
        created_at: at(secs),
        holder: holder.map(Into::into),
    }
}

/// Silent since 200 s counts as dead; no reservation is old enough to be abandoned
/// for its age alone.
fn silent_since_200() -> Abandoned {
    Abandoned {
        silent_since: at(200),
        reserved_before: at(0),
    }
}

/// The key of an instance that stopped beating passes to the first retry, with the
/// retry's time; the dead instance can no longer answer for it, and a second taker
/// finds a live holder.
pub async fn a_dead_instances_key_is_taken_over_once<D: StoreUnderTest>(db: &D) {
    let store = db.store();
    store.instance_beat("dead", at(100)).await.unwrap();
    store.instance_beat("b", at(300)).await.unwrap();
    store.instance_beat("c", at(300)).await.unwrap();
    store
        .idempotency_insert(&held("k", Some("dead"), 100))
        .await
        .unwrap();

    let other_request = IdempotencyRecord {
        request_hash: "sha256:0000".into(),
        ..held("k", Some("b"), 300)
    };
    assert!(
        !store
            .idempotency_take_over(&other_request, silent_since_200())
            .await
            .unwrap(),
        "another request under the key is no retry"
    );
    let by_b = held("k", Some("b"), 300);
    assert!(store
        .idempotency_take_over(&by_b, silent_since_200())
        .await
        .unwrap());
    assert_eq!(store.idempotency_lookup("k").await.unwrap(), Some(by_b));
    let by_c = held("k", Some("c"), 301);
    assert!(
        !store
            .idempotency_take_over(&by_c, silent_since_200())
            .await
            .unwrap(),
        "b is alive"
    );

    // The dead instance's late answer changes nothing; the taker's counts.
    assert!(!store
        .idempotency_complete("k", "dead", 201, "{\"late\":1}")
        .await
        .unwrap());
    assert!(store
        .idempotency_complete("k", "b", 201, "{}")
        .await
        .unwrap());
    assert!(
        !store
            .idempotency_take_over(&by_c, silent_since_200())
            .await
            .unwrap(),
        "an answered key is final"
    );
}

/// An instance that beats keeps its keys, and never takes its own key over for
/// silence; a key no instance names (kept before instances were tracked) is freed by
/// age only. A key too old to be a running request is free, whoever holds it.
pub async fn live_holders_keep_their_keys_until_they_are_old<D: StoreUnderTest>(db: &D) {
    let store = db.store();
    store.instance_beat("alive", at(250)).await.unwrap();
    store.instance_beat("b", at(300)).await.unwrap();
    store
        .idempotency_insert(&held("live", Some("alive"), 240))
        .await
        .unwrap();
    store
        .idempotency_insert(&held("unnamed", None, 240))
        .await
        .unwrap();
    store
        .idempotency_insert(&held("own", Some("silent-self"), 240))
        .await
        .unwrap();
    for key in ["live", "unnamed"] {
        assert!(
            !store
                .idempotency_take_over(&held(key, Some("b"), 300), silent_since_200())
                .await
                .unwrap(),
            "{key}"
        );
    }
    assert!(!store
        .idempotency_take_over(&held("own", Some("silent-self"), 300), silent_since_200())
        .await
        .unwrap());

    let old = Abandoned {
        reserved_before: at(241),
        ..silent_since_200()
    };
    for key in ["live", "unnamed", "own"] {
        assert!(
            store
                .idempotency_take_over(&held(key, Some("b"), 300), old)
                .await
                .unwrap(),
            "{key}"
        );
    }
    assert!(
        !store
            .idempotency_take_over(&held("live", Some("c"), 300), old)
            .await
            .unwrap(),
        "the taker's reservation is new"
    );
}

/// A graceful shutdown frees the instance's keys at once; instances silent for long
/// are forgotten, and their keys stay free.
pub async fn leaving_frees_keys_and_silent_instances_are_purged<D: StoreUnderTest>(db: &D) {
    let store = db.store();
    store.instance_beat("leaving", at(300)).await.unwrap();
    store.instance_beat("long-gone", at(100)).await.unwrap();
    store.instance_beat("b", at(300)).await.unwrap();
    // A second beat moves the heartbeat of a registered instance.
    store.instance_beat("b", at(310)).await.unwrap();
    for (key, holder) in [("k1", "leaving"), ("k2", "long-gone"), ("k3", "b")] {
        store
            .idempotency_insert(&held(key, Some(holder), 290))
            .await
            .unwrap();
    }
    store.instance_leave("leaving").await.unwrap();
    assert_eq!(store.instances_purge(at(200)).await.unwrap(), 1);
    assert_eq!(store.instances_purge(at(200)).await.unwrap(), 0);
    let since_305 = Abandoned {
        silent_since: at(305),
        ..silent_since_200()
    };
    for (key, free) in [("k1", true), ("k2", true), ("k3", false)] {
        let taken = store
            .idempotency_take_over(&held(key, Some("c"), 320), since_305)
            .await
            .unwrap();
        assert_eq!(taken, free, "{key}");
    }
}

const TAKERS: usize = 8;

/// Retries of one key on two instances at once (a client retrying hard after a
/// crash): exactly one takes the key over.
pub async fn concurrent_takers_never_share_a_key<D: StoreUnderTest>(db: &D) {
    let stores = [db.shared(), db.another_instance().await];
    let store = db.store();
    store
        .idempotency_insert(&held("contested", Some("dead"), 100))
        .await
        .unwrap();
    for taker in 0..TAKERS {
        store
            .instance_beat(&format!("taker-{taker}"), at(300))
            .await
            .unwrap();
    }
    let barrier = Arc::new(Barrier::new(TAKERS));
    let tasks: Vec<_> = (0..TAKERS)
        .map(|taker| {
            let store = stores[taker % 2].clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                let mine = held("contested", Some(&format!("taker-{taker}")), 300);
                barrier.wait().await;
                let won = store
                    .idempotency_take_over(&mine, silent_since_200())
                    .await
                    .unwrap();
                won.then_some(mine)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for task in tasks {
        winners.extend(task.await.unwrap());
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    assert_eq!(
        store.idempotency_lookup("contested").await.unwrap(),
        winners.pop()
    );
}
