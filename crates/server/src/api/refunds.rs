//! `/v1/.../refunds`: request, read, list, approve, reject and sync refunds.

use std::sync::Arc;

use payport_domain::ports::RefundFilter;
use payport_domain::refund::{Refund as DomainRefund, RefundStatus as DomainStatus};
use payport_domain::usecases::RefundRequest;
use payport_domain::{OutRequestNo, OutTradeNo, RefundId};
use poem::http::StatusCode;
use poem::web::Data;
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};

use super::auth::{BearerAuth, Caller, Role};
use super::body::JsonBody;
use super::error::ApiError;
use super::models::{
    CreateOperatorBatch, CreateRefund, OperatorBatch, Refund, RefundGateway, RefundPage,
    RefundStatus, RejectRefund,
};
use super::{parse_amount, parse_id, ApiTags};
use crate::state::AppState;

pub struct RefundsApi;

#[derive(ApiResponse)]
pub enum RefundCreated {
    /// Settled (succeeded, failed) or waiting for a person (pending_approval,
    /// awaiting_operator).
    #[oai(status = 201)]
    Created(Json<Refund>),
    /// Sent to Alipay, outcome not known yet (`processing`): it is resolved by a
    /// refund query or a resend with the same out_request_no (`/sync`, or in the
    /// background), never guessed.
    #[oai(status = 202)]
    Processing(Json<Refund>),
}

#[derive(ApiResponse)]
pub enum OperatorBatchCreated {
    /// The batch and its form; every refund in it is `awaiting_operator`.
    #[oai(status = 201)]
    Created(Json<OperatorBatch>),
}

#[derive(ApiResponse)]
pub enum RefundAnswer {
    #[oai(status = 200)]
    Ok(Json<Refund>),
    /// Sent, outcome not known yet (`processing`).
    #[oai(status = 202)]
    Processing(Json<Refund>),
}

impl RefundAnswer {
    fn of(refund: DomainRefund, role: Role) -> RefundAnswer {
        if refund.status == DomainStatus::Processing {
            RefundAnswer::Processing(Json(shown(refund, role)))
        } else {
            RefundAnswer::Ok(Json(shown(refund, role)))
        }
    }
}

/// `ik` + 32 hex digits of SHA-256(caller, order, key): the same request retried by
/// the same caller under the same key reserves, and sends, the same refund, even if
/// the key's stored answer was lost (a 5xx after the refund went out releases the
/// key); another caller's key is another refund, as its keys are its own. 34 letters
/// and digits: a valid out_request_no (docs/PROTOCOL.md A7).
fn number_from_key(caller: &Caller, out_trade_no: &OutTradeNo, key: &str) -> OutRequestNo {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("{}\n{out_trade_no}\n{key}", caller.scope).as_bytes());
    let number = format!("ik{}", &hex::encode(digest)[..32]);
    // Always parses; the fallback only keeps the types honest.
    OutRequestNo::parse(number)
        .unwrap_or_else(|_| number_from_key(caller, out_trade_no, "fallback"))
}

/// Merchants see refunds without the operator's form (only an operator confirms it).
fn shown(refund: DomainRefund, role: Role) -> Refund {
    Refund::from(refund).seen_by(role)
}

fn refund_id(text: String) -> Result<RefundId, ApiError> {
    RefundId::parse(text).map_err(|e| ApiError::invalid(e.kind, e.to_string()))
}

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::Refunds")]
impl RefundsApi {
    /// Request a refund
    ///
    /// Reserves the amount (never more than is left, even under concurrent requests),
    /// then sends it to Alipay or waits for an operator, per the approval policy (whose
    /// threshold counts the order's earlier refunds too). Repeating a request with the
    /// same `out_request_no` and amount returns the same refund; an over-refund is
    /// refused without calling Alipay. Only operators may choose `mapi_pwd`
    /// (GATEWAY_OPERATOR_ONLY).
    #[oai(
        path = "/orders/:out_trade_no/refunds",
        method = "post",
        operation_id = "createRefund"
    )]
    async fn create(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        #[oai(validator(max_length = 64, pattern = r"^[A-Za-z0-9_]{1,64}$"))] out_trade_no: Path<
            String,
        >,
        /// Replays the stored answer for a repeated key with the same body; without an
        /// `out_request_no`, the refund's number is derived from it, so that no retry
        /// can ever create a second refund.
        #[oai(
            name = "Idempotency-Key",
            validator(max_length = 255, pattern = r"^[!-~]{1,255}$")
        )]
        idempotency_key: Header<Option<String>>,
        body: JsonBody<CreateRefund>,
    ) -> Result<RefundCreated, ApiError> {
        let body = body.0;
        if body.gateway == Some(RefundGateway::MapiPwd) && auth.role() == Role::Merchant {
            // Its answer is the form that takes the operator's payment password.
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "GATEWAY_OPERATOR_ONLY",
                "only an operator may choose the mapi_pwd gateway",
            ));
        }
        let out_trade_no = parse_id(OutTradeNo::parse)(out_trade_no.0)?;
        let out_request_no = match (body.out_request_no.map(|t| t.0), idempotency_key.0) {
            (Some(number), _) => Some(parse_id(OutRequestNo::parse)(number)?),
            (None, Some(key)) => Some(number_from_key(&auth.0, &out_trade_no, &key)),
            (None, None) => None,
        };
        let request = RefundRequest {
            out_trade_no,
            amount: parse_amount("amount", &body.amount.0)?,
            reason: body.reason.map(|t| t.0),
            out_request_no,
            gateway: body.gateway.map(Into::into),
        };
        let refund = state.refunds.request(request).await?;
        Ok(if refund.status == DomainStatus::Processing {
            RefundCreated::Processing(Json(shown(refund, auth.role())))
        } else {
            RefundCreated::Created(Json(shown(refund, auth.role())))
        })
    }

    /// List an order's refunds
    #[oai(
        path = "/orders/:out_trade_no/refunds",
        method = "get",
        operation_id = "listOrderRefunds"
    )]
    async fn list_for_order(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        #[oai(validator(max_length = 64, pattern = r"^[A-Za-z0-9_]{1,64}$"))] out_trade_no: Path<
            String,
        >,
    ) -> Result<Json<Vec<Refund>>, ApiError> {
        let id = parse_id(OutTradeNo::parse)(out_trade_no.0)?;
        let refunds = state.refunds.list_for_order(&id).await?;
        Ok(Json(
            refunds.into_iter().map(|r| shown(r, auth.role())).collect(),
        ))
    }

    /// Get a refund
    #[oai(
        path = "/refunds/:refund_id",
        method = "get",
        operation_id = "getRefund"
    )]
    async fn get(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        #[oai(validator(max_length = 64, pattern = r"^[A-Za-z0-9_]{1,64}$"))] refund_id: Path<
            String,
        >,
    ) -> Result<Json<Refund>, ApiError> {
        let refund = state.refunds.get(&self::refund_id(refund_id.0)?).await?;
        Ok(Json(shown(refund, auth.role())))
    }

    /// List refunds across orders (operator)
    ///
    /// Newest first; filter by `status`, e.g. `pending_approval` for the approval queue.
    #[oai(path = "/refunds", method = "get", operation_id = "listRefunds")]
    async fn list(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        status: Query<Option<RefundStatus>>,
        /// Refunds per page: 1 to 200, 50 by default.
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
        /// A `next_cursor` payport answered.
        #[oai(validator(max_length = 88, pattern = r"^p1\.[0-9]{1,16}\.[A-Za-z0-9_]{1,64}$"))]
        cursor: Query<Option<String>>,
    ) -> Result<Json<RefundPage>, ApiError> {
        auth.require_operator()?;
        let filter = RefundFilter {
            status: status.0.map(Into::into),
            limit: super::page_limit(limit.0)?,
            cursor: cursor.0,
        };
        let page = state.refunds.list(&filter).await?;
        Ok(Json(RefundPage {
            items: page.items.into_iter().map(Refund::from).collect(),
            next_cursor: page.next_cursor,
        }))
    }

    /// Approve a refund (operator)
    ///
    /// Sends a refund that was waiting for approval.
    #[oai(
        path = "/refunds/:refund_id/approve",
        method = "post",
        operation_id = "approveRefund"
    )]
    async fn approve(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        #[oai(validator(max_length = 64, pattern = r"^[A-Za-z0-9_]{1,64}$"))] refund_id: Path<
            String,
        >,
    ) -> Result<RefundAnswer, ApiError> {
        auth.require_operator()?;
        let refund = state
            .refunds
            .approve(&self::refund_id(refund_id.0)?)
            .await?;
        Ok(RefundAnswer::of(refund, auth.role()))
    }

    /// Reject a refund (operator)
    ///
    /// Refuses a refund that was waiting for approval; its amount is released.
    #[oai(
        path = "/refunds/:refund_id/reject",
        method = "post",
        operation_id = "rejectRefund"
    )]
    async fn reject(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        #[oai(validator(max_length = 64, pattern = r"^[A-Za-z0-9_]{1,64}$"))] refund_id: Path<
            String,
        >,
        body: JsonBody<RejectRefund>,
    ) -> Result<Json<Refund>, ApiError> {
        auth.require_operator()?;
        let refund = state
            .refunds
            .reject(&self::refund_id(refund_id.0)?, body.0.reason.0)
            .await?;
        Ok(Json(refund.into()))
    }

    /// Batch refunds for an operator (operator, legacy password flow)
    ///
    /// Puts several `mapi_pwd` refunds (pending approval or approved, of different
    /// orders) into one `refund_fastpay_by_platform_pwd` batch. They are approved and
    /// all wait for the operator together, with the one form that confirms them on
    /// Alipay. Nothing is sent until the operator submits the form.
    #[oai(
        path = "/refunds/operator-batches",
        method = "post",
        operation_id = "createOperatorBatch"
    )]
    async fn operator_batch(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        #[oai(
            name = "Idempotency-Key",
            validator(max_length = 255, pattern = r"^[!-~]{1,255}$")
        )]
        _idempotency_key: Header<Option<String>>,
        body: JsonBody<CreateOperatorBatch>,
    ) -> Result<OperatorBatchCreated, ApiError> {
        auth.require_operator()?;
        let ids = body
            .0
            .refund_ids
            .into_iter()
            .map(|t| refund_id(t.0))
            .collect::<Result<Vec<_>, _>>()?;
        let refunds = state.refunds.batch_for_operator(&ids).await?;
        let first = refunds.first();
        let batch = OperatorBatch {
            batch_no: first
                .and_then(|r| r.batch_no.as_ref())
                .map(ToString::to_string)
                .unwrap_or_default(),
            operator_form_html: first
                .and_then(|r| r.operator_form_html.clone())
                .unwrap_or_default(),
            refunds: refunds.into_iter().map(Refund::from).collect(),
        };
        Ok(OperatorBatchCreated::Created(Json(batch)))
    }

    /// Sync a refund with Alipay
    ///
    /// For a `processing` refund: asks Alipay (refund query) and, if Alipay never got
    /// it, sends it again with the same out_request_no. Settled refunds are returned
    /// as they are.
    #[oai(
        path = "/refunds/:refund_id/sync",
        method = "post",
        operation_id = "syncRefund"
    )]
    async fn sync(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        #[oai(validator(max_length = 64, pattern = r"^[A-Za-z0-9_]{1,64}$"))] refund_id: Path<
            String,
        >,
    ) -> Result<RefundAnswer, ApiError> {
        let refund = state.refunds.sync(&self::refund_id(refund_id.0)?).await?;
        Ok(RefundAnswer::of(refund, auth.role()))
    }
}
