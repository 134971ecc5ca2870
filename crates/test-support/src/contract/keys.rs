//! Idempotency keys under contention and over time: a reservation reported as won is
//! stored, and keys past their time are purged.

use std::sync::Arc;

use payport_domain::ports::{IdempotencyInsert, IdempotencyRecord, IdempotencyStore, IN_FLIGHT};
use tokio::sync::Barrier;

use super::fixtures::at;
use super::StoreUnderTest;

const RACERS: usize = 8;
const ROUNDS: usize = 150;

fn reservation(key: &str, request_hash: String, secs: i64) -> IdempotencyRecord {
    IdempotencyRecord {
        key: key.into(),
        request_hash,
        http_status: IN_FLIGHT,
        response_body: String::new(),
        created_at: at(secs),
        holder: Some(HOLDER.into()),
    }
}

const HOLDER: &str = "instance-a";

/// Racers reserve one key and release it at once, over and over (two store instances
/// on one database). Whoever is told `Inserted` owns the key until it releases it, so
/// its own record must be the one stored: a lost race reported as won would let two
/// requests run under one key.
pub async fn a_reservation_reported_as_won_is_stored<D: StoreUnderTest>(db: &D) {
    let stores = [db.shared(), db.another_instance().await];
    let barrier = Arc::new(Barrier::new(RACERS));
    let tasks: Vec<_> = (0..RACERS)
        .map(|racer| {
            let store = stores[racer % 2].clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                let mut problems = Vec::new();
                let mut won = 0;
                for round in 0..ROUNDS {
                    let mine = format!("racer-{racer}-round-{round}");
                    let record = reservation("raced", mine.clone(), 700);
                    match store.idempotency_insert(&record).await {
                        // Losing the race again and again may end in "try again":
                        // honest, unlike a win that was not stored.
                        Err(payport_domain::RepoError::Unavailable(_)) => {}
                        Err(e) => panic!("{mine}: {e}"),
                        Ok(IdempotencyInsert::Duplicate(theirs)) => {
                            assert_ne!(theirs.request_hash, mine, "told Duplicate of itself");
                        }
                        Ok(IdempotencyInsert::Inserted) => {
                            won += 1;
                            let stored = store.idempotency_lookup("raced").await.unwrap();
                            let stored = stored.map(|r| r.request_hash);
                            if stored.as_deref() != Some(mine.as_str()) {
                                problems.push(format!("{mine} won but {stored:?} is stored"));
                            }
                            store.idempotency_release("raced", HOLDER).await.unwrap();
                        }
                    }
                }
                (won, problems)
            })
        })
        .collect();
    let mut won = 0;
    let mut problems = Vec::new();
    for task in tasks {
        let (w, p) = task.await.unwrap();
        won += w;
        problems.extend(p);
    }
    assert!(won > 0, "nobody ever reserved the key");
    assert!(
        problems.is_empty(),
        "{} of {won} reservations reported as won were not stored, e.g. {:?}",
        problems.len(),
        &problems[..problems.len().min(3)]
    );
}

/// Records created before the cut-off are deleted, in flight or answered; newer ones
/// stay.
pub async fn keys_older_than_the_cut_off_are_purged<D: StoreUnderTest>(db: &D) {
    let store = db.store();
    let answered = |key: &str, secs: i64| IdempotencyRecord {
        http_status: 201,
        response_body: "{}".into(),
        ..reservation(key, "sha256:dddd".into(), secs)
    };
    for record in [
        answered("old", 800),
        reservation("old-in-flight", "sha256:eeee".into(), 801),
        answered("at-cut-off", 900),
        answered("new", 901),
    ] {
        store.idempotency_insert(&record).await.unwrap();
    }
    assert_eq!(store.idempotency_purge(at(900)).await.unwrap(), 2);
    assert_eq!(store.idempotency_lookup("old").await.unwrap(), None);
    assert_eq!(
        store.idempotency_lookup("old-in-flight").await.unwrap(),
        None
    );
    assert!(store
        .idempotency_lookup("at-cut-off")
        .await
        .unwrap()
        .is_some());
    assert!(store.idempotency_lookup("new").await.unwrap().is_some());
    // A purged key is new again.
    assert_eq!(
        store
            .idempotency_insert(&answered("old", 902))
            .await
            .unwrap(),
        IdempotencyInsert::Inserted
    );
    assert_eq!(store.idempotency_purge(at(900)).await.unwrap(), 0);
}
