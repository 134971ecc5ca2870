//! The storage contract suite: what every store behind the domain's storage ports must
//! do, written once as `async fn`s over a [`StoreUnderTest`] and run on each backend by
//! [`store_contract!`](crate::store_contract) (store-diesel: SQLite and PostgreSQL;
//! this crate's `tests/contract.rs`: the [`MemoryStore`]), so the backends cannot drift
//! apart.
//!
//! Tests about one backend's machinery (migrations, corrupt rows, raw SQL) live with
//! that backend, not here.

// Test bodies: a failed unwrap is a failed test, with the value in the message.
#![allow(clippy::unwrap_used)]

pub mod claims;
pub mod concurrency;
pub mod deliveries;
pub mod events;
pub mod external;
pub mod fixtures;
pub mod inbox_apply;
pub mod inbox_log_keys;
pub mod keys;
pub mod orders;
pub mod outbox;
pub mod payment_checks;
pub mod reconciliations;
pub mod refunds;
pub mod reserve;
pub mod takeover;
pub mod webhooks;

use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;
use payport_domain::ports::{
    DeliveryQueue, EventLog, ExchangeLog, GatewayExchange, IdempotencyStore, NotificationInbox,
    OrderRepository, ReconciliationStore, RefundRepository, WebhookEndpoints, WorkQueue,
};
use payport_domain::RepoError;

pub use fixtures::TestRenderer;

use crate::MemoryStore;

/// Every storage port the server needs from one store.
pub trait Ports:
    OrderRepository
    + RefundRepository
    + NotificationInbox
    + ExchangeLog
    + WorkQueue
    + IdempotencyStore
    + EventLog
    + WebhookEndpoints
    + DeliveryQueue
    + ReconciliationStore
    + 'static
{
}

impl<T> Ports for T where
    T: OrderRepository
        + RefundRepository
        + NotificationInbox
        + ExchangeLog
        + WorkQueue
        + IdempotencyStore
        + EventLog
        + WebhookEndpoints
        + DeliveryQueue
        + ReconciliationStore
        + 'static
{
}

/// One backend, freshly emptied for one test, rendering event bodies with
/// [`TestRenderer`] (so that the tests can read what the body saw).
#[async_trait]
pub trait StoreUnderTest: Send + Sync {
    type Store: Ports;

    fn store(&self) -> &Self::Store;

    /// This store, as a handle to move into spawned tasks.
    fn shared(&self) -> Arc<Self::Store>;

    /// A second store on the same data: another payport instance.
    async fn another_instance(&self) -> Arc<Self::Store>;

    /// The exchanges logged for an order, oldest first (what support staff read; not
    /// a port, so each backend says how).
    async fn exchanges_for_order(
        &self,
        out_trade_no: &str,
    ) -> Result<Vec<GatewayExchange>, RepoError>;
}

/// Runs `task` four times at once, as two payport instances with two workers each
/// would (`task(0..=1, this store)`, `task(2..=3, another instance)`), and returns what
/// they returned, together.
///
/// # Panics
/// A task panicked.
pub async fn four_at_once<D, F, Fut, T>(db: &D, task: F) -> Vec<T>
where
    D: StoreUnderTest,
    F: Fn(usize, Arc<D::Store>) -> Fut,
    Fut: Future<Output = Vec<T>> + Send + 'static,
    T: Send + 'static,
{
    let other = db.another_instance().await;
    let tasks = [
        tokio::spawn(task(0, db.shared())),
        tokio::spawn(task(1, db.shared())),
        tokio::spawn(task(2, other.clone())),
        tokio::spawn(task(3, other)),
    ];
    let mut all = Vec::new();
    for done in tasks {
        all.extend(done.await.unwrap());
    }
    all
}

/// The memory backend: one [`MemoryStore`]; "another instance" shares it, as two
/// payport processes share one database.
pub struct MemoryDb {
    pub store: Arc<MemoryStore>,
}

impl MemoryDb {
    /// Always `Some`: the signature [`store_contract!`](crate::store_contract) expects.
    pub async fn open() -> Option<MemoryDb> {
        let store = MemoryStore::new().with_event_renderer(Arc::new(TestRenderer));
        Some(MemoryDb {
            store: Arc::new(store),
        })
    }
}

#[async_trait]
impl StoreUnderTest for MemoryDb {
    type Store = MemoryStore;

    fn store(&self) -> &MemoryStore {
        &self.store
    }

    fn shared(&self) -> Arc<MemoryStore> {
        self.store.clone()
    }

    async fn another_instance(&self) -> Arc<MemoryStore> {
        self.store.clone()
    }

    async fn exchanges_for_order(
        &self,
        out_trade_no: &str,
    ) -> Result<Vec<GatewayExchange>, RepoError> {
        Ok(self.store.exchanges_for_order(out_trade_no))
    }
}

/// Instantiates the whole contract suite for one backend: `$open` is the absolute
/// path (`crate::...`) of an `async fn() -> Option<impl StoreUnderTest>` making a
/// fresh store for each test (`None`: skipped, the test passes). Gives
/// `<module>::<test>` tests in the calling module; the caller needs tokio.
#[macro_export]
macro_rules! store_contract {
    ($open:path) => {
        $crate::store_contract!(@module $open, orders:
            every_field_round_trips,
            out_trade_no_is_unique,
            updates_are_conditional_on_the_version,
            total_amount_cannot_change,
            lists_newest_first_in_pages,
        );
        $crate::store_contract!(@module $open, refunds:
            every_field_round_trips,
            refund_updates_are_conditional,
            update_with_order_saves_both_or_neither,
            update_all_saves_every_refund_or_none,
            lists_refunds_of_an_order_and_in_pages,
            lists_refunds_of_several_orders_at_once,
        );
        $crate::store_contract!(@module $open, external:
            an_external_refund_is_stored_with_its_order_and_events,
            a_used_number_or_a_stale_order_saves_nothing,
            reservations_count_external_refunds,
        );
        $crate::store_contract!(@module $open, reserve:
            an_exact_fit_is_accepted_and_one_fen_more_is_refused,
            unpaid_closed_finished_and_missing_orders_refuse,
            a_used_out_request_no_returns_the_existing_refund,
            rejected_and_failed_refunds_release_their_amount,
            the_approval_threshold_counts_what_the_order_holds,
            a_refund_sent_at_once_is_reserved_as_sent_with_both_events,
        );
        $crate::store_contract!(@module $open, claims:
            due_refunds_are_claimed_once_per_lease,
            refunds_with_a_sync_time_are_claimed_before_stale_ones,
            concurrent_refund_claimers_never_share_a_refund,
            expired_orders_are_claimed_once_per_lease,
            concurrent_order_claimers_never_share_an_order,
            the_backlog_is_what_the_claims_then_take,
        );
        $crate::store_contract!(@module $open, reconciliations:
            reports_round_trip_and_a_save_replaces_the_items,
            a_date_is_claimed_once_until_its_report_is_due_again,
            a_run_by_hand_claims_any_day_no_other_run_holds,
            concurrent_claimers_never_both_run_a_date,
            the_books_of_a_day,
        );
        $crate::store_contract!(@module $open, payment_checks:
            due_payment_checks_are_claimed_earliest_first_once_per_lease,
            scheduling_sets_only_the_check_time_of_a_pending_order,
            concurrent_payment_check_claimers_never_share_an_order,
        );
        $crate::store_contract!(@module $open, concurrency:
            fifty_parallel_reservations_never_exceed_the_total,
            of_two_concurrent_saves_exactly_one_wins,
            parallel_reservations_share_one_approval_threshold,
        );
        $crate::store_contract!(@module $open, inbox_log_keys:
            the_inbox_dedupes_redeliveries,
            the_exchange_log_keeps_raw_exchanges,
            idempotency_keys_are_unique,
            in_flight_keys_are_completed_or_released,
        );
        $crate::store_contract!(@module $open, inbox_apply:
            a_first_delivery_is_recorded_applied_and_handled_at_once,
            a_stale_order_keeps_nothing_of_the_notification,
        );
        $crate::store_contract!(@module $open, keys:
            a_reservation_reported_as_won_is_stored,
            keys_older_than_the_cut_off_are_purged,
        );
        $crate::store_contract!(@module $open, takeover:
            a_dead_instances_key_is_taken_over_once,
            live_holders_keep_their_keys_until_they_are_old,
            leaving_frees_keys_and_silent_instances_are_purged,
            concurrent_takers_never_share_a_key,
        );
        $crate::store_contract!(@module $open, outbox:
            every_save_writes_its_events_rendered_after_the_change,
            a_reservation_writes_the_event_of_the_status_it_chose,
            a_refused_save_writes_neither_the_change_nor_its_events,
            a_used_event_id_fails_the_whole_save,
        );
        $crate::store_contract!(@module $open, events:
            events_list_oldest_first_with_filters_and_a_cursor,
            an_unknown_cursor_is_not_found,
            a_reader_following_events_misses_none_written_meanwhile,
        );
        $crate::store_contract!(@module $open, webhooks:
            events_fan_out_to_the_active_endpoints_that_want_them,
            each_event_of_one_save_reaches_the_endpoints_that_want_it,
            a_deleted_endpoint_gets_nothing_new_and_its_pending_deliveries_fail,
            the_configured_endpoint_follows_configuration,
        );
        $crate::store_contract!(@module $open, deliveries:
            due_deliveries_are_claimed_once_per_lease,
            concurrent_delivery_claimers_never_share_a_delivery,
            attempts_are_recorded_with_what_follows,
            redeliver_sends_an_event_again_from_now,
            a_late_record_under_a_lapsed_claim_changes_nothing_but_the_history,
            an_attempt_in_flight_during_a_redelivery_cannot_undo_it,
            the_delivery_backlog_is_what_a_claim_would_take,
        );
    };
    (@module $open:path, $module:ident: $($name:ident),* $(,)?) => {
        mod $module {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let Some(db) = $open().await else {
                        return;
                    };
                    $crate::contract::$module::$name(&db).await;
                }
            )*
        }
    };
}
