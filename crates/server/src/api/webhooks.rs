//! `/v1/webhook-endpoints` (operators): where events are POSTed, besides the one
//! configured with `PAYPORT_WEBHOOKS__URL`.

use std::sync::Arc;

use payport_domain::EndpointId;
use poem::web::Data;
use poem_openapi::param::{Header, Path};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};

use super::auth::BearerAuth;
use super::body::JsonBody;
use super::error::ApiError;
use super::event_models::{CreateWebhookEndpoint, CreatedWebhookEndpoint, WebhookEndpoint};
use super::{parse_id, ApiTags};
use crate::config::webhooks::is_webhook_url;
use crate::state::AppState;

pub struct WebhooksApi;

#[derive(ApiResponse)]
pub enum EndpointCreated {
    /// The endpoint with its secret, shown this once.
    #[oai(status = 201)]
    Created(Json<CreatedWebhookEndpoint>),
}

#[derive(ApiResponse)]
pub enum EndpointDeleted {
    /// Deleted: it gets no more events, and its pending deliveries are failed.
    #[oai(status = 204)]
    Deleted,
}

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::Webhooks")]
impl WebhooksApi {
    /// Create a webhook endpoint (operator)
    ///
    /// Every later event of the chosen types (all, if `event_types` is absent) is
    /// POSTed to `url`, signed with the secret in this answer. The secret is not
    /// shown again: keep it.
    #[oai(
        path = "/webhook-endpoints",
        method = "post",
        operation_id = "createWebhookEndpoint"
    )]
    async fn create(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        /// Replays the stored answer for a repeated key with the same body.
        #[oai(
            name = "Idempotency-Key",
            validator(max_length = 255, pattern = r"^[!-~]{1,255}$")
        )]
        _idempotency_key: Header<Option<String>>,
        body: JsonBody<CreateWebhookEndpoint>,
    ) -> Result<EndpointCreated, ApiError> {
        auth.require_operator()?;
        let url = body.0.url.0;
        if !is_webhook_url(&url) {
            return Err(ApiError::invalid(
                "url",
                "url must be an absolute http(s) URL with a host",
            ));
        }
        let types = body
            .0
            .event_types
            .map(|types| types.into_iter().map(Into::into).collect());
        let endpoint = state.webhooks.create_endpoint(url, types).await?;
        let secret = endpoint.secret.expose().to_owned();
        Ok(EndpointCreated::Created(Json(CreatedWebhookEndpoint {
            endpoint: endpoint.into(),
            secret,
        })))
    }

    /// List webhook endpoints (operator)
    ///
    /// The active endpoints, oldest first, without their secrets.
    #[oai(
        path = "/webhook-endpoints",
        method = "get",
        operation_id = "listWebhookEndpoints"
    )]
    async fn list(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
    ) -> Result<Json<Vec<WebhookEndpoint>>, ApiError> {
        auth.require_operator()?;
        let endpoints = state.webhooks.list_endpoints().await?;
        Ok(Json(endpoints.into_iter().map(Into::into).collect()))
    }

    /// Delete a webhook endpoint (operator)
    ///
    /// It gets no more events; its pending deliveries are marked failed. The
    /// configured endpoint (`we_configured`) comes back at the next start while
    /// `PAYPORT_WEBHOOKS__URL` is set.
    #[oai(
        path = "/webhook-endpoints/:endpoint_id",
        method = "delete",
        operation_id = "deleteWebhookEndpoint"
    )]
    async fn delete(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        #[oai(validator(max_length = 64, pattern = r"^[A-Za-z0-9_]{1,64}$"))] endpoint_id: Path<
            String,
        >,
    ) -> Result<EndpointDeleted, ApiError> {
        auth.require_operator()?;
        let id = parse_id(EndpointId::parse)(endpoint_id.0)?;
        state.webhooks.delete_endpoint(&id).await?;
        Ok(EndpointDeleted::Deleted)
    }
}
