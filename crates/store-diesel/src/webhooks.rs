//! [`WebhookEndpoints`]: where events are delivered. Endpoints are soft-deleted, so
//! that their deliveries stay visible; a deleted endpoint's pending deliveries fail,
//! each with a last attempt row saying why ("endpoint deleted").

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Nullable, Text};
use diesel::upsert::excluded;
use diesel_async::RunQueryDsl;
use payport_domain::event::EventType;
use payport_domain::ports::WebhookEndpoints;
use payport_domain::webhook::{DeliveryStatus, WebhookEndpoint, WebhookSecret};
use payport_domain::{EndpointId, RepoError};

use crate::deliveries::failed_at;
use crate::dialect::{Dialect, OutboxLock};
use crate::error::{corrupt, db_error, Abort};
use crate::pool::{for_each_backend, with_conn, write_conn, write_tx};
use crate::schema::{
    webhook_attempts as attempts, webhook_deliveries as deliveries, webhook_endpoints as endpoints,
};
use crate::time::{DbTime, UtcTime};
use crate::DieselStore;

/// What a deleted endpoint's pending deliveries end with.
pub(crate) const ENDPOINT_DELETED: &str = "endpoint deleted";

#[derive(Insertable, Queryable, Selectable)]
#[diesel(table_name = endpoints)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
struct EndpointRow {
    id: String,
    url: String,
    secret: String,
    event_types: Option<String>,
    configured: bool,
    created_at: DbTime,
}

/// `None` for every type; otherwise `,a,b,` (see the migration).
fn encode_types(types: Option<&[EventType]>) -> Option<String> {
    types.map(|types| {
        let names: Vec<&str> = types.iter().map(|t| t.as_str()).collect();
        format!(",{},", names.join(","))
    })
}

fn row(endpoint: &WebhookEndpoint) -> EndpointRow {
    EndpointRow {
        id: endpoint.id.to_string(),
        url: endpoint.url.clone(),
        secret: endpoint.secret.expose().to_owned(),
        event_types: encode_types(endpoint.event_types.as_deref()),
        configured: endpoint.configured,
        created_at: endpoint.created_at.into(),
    }
}

impl TryFrom<EndpointRow> for WebhookEndpoint {
    type Error = RepoError;

    fn try_from(row: EndpointRow) -> Result<WebhookEndpoint, RepoError> {
        let at = |what: &str, value: &dyn std::fmt::Display| {
            corrupt(format!(
                "webhook_endpoints.{what} = {value} (id {:?})",
                row.id
            ))
        };
        let event_types = row
            .event_types
            .as_deref()
            .map(|list| {
                list.split(',')
                    .filter(|name| !name.is_empty())
                    .map(|name| EventType::parse(name).ok_or_else(|| at("event_types", &list)))
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?;
        Ok(WebhookEndpoint {
            id: EndpointId::parse(row.id.as_str()).map_err(|e| at("id", &e))?,
            url: row.url,
            secret: WebhookSecret::new(row.secret),
            event_types,
            configured: row.configured,
            created_at: row.created_at.0,
        })
    }
}

trait EndpointQueries {
    async fn insert_endpoint(&mut self, endpoint: &WebhookEndpoint) -> QueryResult<()>;
    async fn active_endpoints(&mut self) -> QueryResult<Vec<EndpointRow>>;
    /// Soft-deletes the endpoint and fails its pending deliveries; `Ok(false)` when
    /// there is no such active endpoint. Call it inside a write transaction.
    async fn retire_endpoint(&mut self, id: &str, now: DbTime) -> QueryResult<bool>;
    /// Creates or updates (and revives) the configured endpoint.
    async fn upsert_configured(&mut self, url: &str, secret: &str, now: DbTime) -> QueryResult<()>;
}

for_each_backend! {
    impl EndpointQueries {
        async fn insert_endpoint(&mut self, endpoint: &WebhookEndpoint) -> QueryResult<()> {
            diesel::insert_into(endpoints::table)
                .values(row(endpoint))
                .execute(self)
                .await
                .map(drop)
        }

        async fn active_endpoints(&mut self) -> QueryResult<Vec<EndpointRow>> {
            endpoints::table
                .filter(endpoints::deleted_at.is_null())
                .order((endpoints::created_at.asc(), endpoints::id.asc()))
                .select(EndpointRow::as_select())
                .load(self)
                .await
        }

        async fn retire_endpoint(&mut self, id: &str, now: DbTime) -> QueryResult<bool> {
            // Exclusive, and taken before the endpoint changes: it waits for the event
            // writers in flight, and holds off new ones, so none can give the endpoint
            // a delivery this deletion does not see.
            self.lock_outbox(OutboxLock::Exclusive).await?;
            let deleted = diesel::update(endpoints::table.find(id))
                .filter(endpoints::deleted_at.is_null())
                .set(endpoints::deleted_at.eq(now))
                .execute(self)
                .await?;
            if deleted == 0 {
                return Ok(false);
            }
            let pending = deliveries::table
                .filter(deliveries::endpoint_id.eq(id))
                .filter(deliveries::status.eq(DeliveryStatus::Pending.as_str()));
            let last_words = pending.select((
                deliveries::id,
                now.into_sql::<UtcTime>(),
                None::<i32>.into_sql::<Nullable<Integer>>(),
                ENDPOINT_DELETED.into_sql::<Text>().nullable(),
                0_i64.into_sql::<BigInt>(),
            ));
            diesel::insert_into(attempts::table)
                .values(last_words)
                .into_columns((
                    attempts::delivery_id,
                    attempts::attempted_at,
                    attempts::status_code,
                    attempts::error,
                    attempts::duration_ms,
                ))
                .execute(self)
                .await?;
            diesel::update(pending)
                .set(failed_at(now))
                .execute(self)
                .await?;
            Ok(true)
        }

        async fn upsert_configured(
            &mut self,
            url: &str,
            secret: &str,
            now: DbTime,
        ) -> QueryResult<()> {
            let configured = EndpointRow {
                id: WebhookEndpoint::CONFIGURED_ID.to_owned(),
                url: url.to_owned(),
                secret: secret.to_owned(),
                event_types: None,
                configured: true,
                created_at: now,
            };
            diesel::insert_into(endpoints::table)
                .values(configured)
                .on_conflict(endpoints::id)
                .do_update()
                .set((
                    endpoints::url.eq(excluded(endpoints::url)),
                    endpoints::secret.eq(excluded(endpoints::secret)),
                    endpoints::event_types.eq(None::<String>),
                    endpoints::configured.eq(true),
                    endpoints::deleted_at.eq(None::<DbTime>),
                ))
                .execute(self)
                .await
                .map(drop)
        }
    }
}

#[async_trait]
impl WebhookEndpoints for DieselStore {
    async fn create_endpoint(&self, endpoint: &WebhookEndpoint) -> Result<(), RepoError> {
        write_conn!(self, |conn| conn.insert_endpoint(endpoint).await)
            .map_err(|e| db_error(format_args!("create webhook endpoint {}", endpoint.id), e))
    }

    async fn list_endpoints(&self) -> Result<Vec<WebhookEndpoint>, RepoError> {
        with_conn!(self, |conn| conn.active_endpoints().await)
            .map_err(|e| db_error("list webhook endpoints", e))?
            .into_iter()
            .map(WebhookEndpoint::try_from)
            .collect()
    }

    async fn delete_endpoint(
        &self,
        id: &EndpointId,
        now: DateTime<Utc>,
    ) -> Result<bool, RepoError> {
        write_tx!(self, |conn| Ok(conn
            .retire_endpoint(id.as_str(), DbTime(now))
            .await?))
        .map_err(|e: Abort<RepoError>| e.into_repo(format_args!("delete webhook endpoint {id}")))
    }

    async fn set_configured_endpoint(
        &self,
        endpoint: Option<(String, WebhookSecret)>,
        now: DateTime<Utc>,
    ) -> Result<(), RepoError> {
        let now = DbTime(now);
        let id = WebhookEndpoint::CONFIGURED_ID;
        match &endpoint {
            Some((url, secret)) => write_conn!(self, |conn| conn
                .upsert_configured(url, secret.expose(), now)
                .await)
            .map_err(|e| db_error("configure the webhook endpoint", e)),
            None => write_tx!(self, |conn| Ok(conn.retire_endpoint(id, now).await?))
                .map(drop)
                .map_err(|e: Abort<RepoError>| {
                    e.into_repo("remove the configured webhook endpoint")
                }),
        }
    }
}
