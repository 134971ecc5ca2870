//! `/v1/orders`: create, read, list, pay, sync and close orders.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::Duration;
use payport_domain::ports::{OrderFilter, PaymentInstruction};
use payport_domain::usecases::NewOrder;
use payport_domain::{OutTradeNo, Refund};
use poem::web::Data;
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};

use super::auth::{BearerAuth, Role};
use super::body::JsonBody;
use super::error::ApiError;
use super::models::{CreateOrder, Order, OrderPage, OrderStatus, Payment, StartPayment};
use super::{parse_amount, parse_id, qr_svg, ApiTags};
use crate::state::AppState;

pub struct OrdersApi;

#[derive(ApiResponse)]
pub enum OrderCreated {
    /// The order, pending payment.
    #[oai(status = 201)]
    Created(Json<Order>),
}

/// The longest time to pay Alipay allows: 15 days.
const MAX_TIMEOUT_MINUTES: u32 = 15 * 24 * 60;

pub(super) async fn order_view(
    state: &AppState,
    out_trade_no: &OutTradeNo,
    role: Role,
) -> Result<Order, ApiError> {
    let order = state.orders.get(out_trade_no).await?;
    let refunds = state.refunds.list_for_order(out_trade_no).await?;
    Ok(Order::from_domain(order, refunds, role))
}

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::Orders")]
impl OrdersApi {
    /// Create an order
    ///
    /// Creates a pending order that a buyer can pay until `expires_at`. Send an
    /// `Idempotency-Key` to make retries safe.
    #[oai(path = "/orders", method = "post", operation_id = "createOrder")]
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
        body: JsonBody<CreateOrder>,
    ) -> Result<OrderCreated, ApiError> {
        let body = body.0;
        let timeout = match body.timeout_minutes {
            None => None,
            Some(m) if (1..=MAX_TIMEOUT_MINUTES).contains(&m) => {
                Some(Duration::minutes(i64::from(m)))
            }
            Some(_) => {
                return Err(ApiError::invalid(
                    "timeout_minutes",
                    format!("timeout_minutes must be between 1 and {MAX_TIMEOUT_MINUTES}"),
                ))
            }
        };
        let new = NewOrder {
            out_trade_no: body
                .out_trade_no
                .map(|t| t.0)
                .map(parse_id(OutTradeNo::parse))
                .transpose()?,
            subject: body.subject.0,
            body: body.body.map(|t| t.0),
            total_amount: parse_amount("total_amount", &body.total_amount.0)?,
            time_to_pay: timeout,
        };
        let order = state.orders.create(new).await?;
        Ok(OrderCreated::Created(Json(Order::from_domain(
            order,
            Vec::new(),
            auth.role(),
        ))))
    }

    /// Get an order
    ///
    /// The order with its refunds.
    #[oai(
        path = "/orders/:out_trade_no",
        method = "get",
        operation_id = "getOrder"
    )]
    async fn get(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        #[oai(validator(max_length = 64, pattern = r"^[A-Za-z0-9_]{1,64}$"))] out_trade_no: Path<
            String,
        >,
    ) -> Result<Json<Order>, ApiError> {
        let id = parse_id(OutTradeNo::parse)(out_trade_no.0)?;
        Ok(Json(order_view(&state, &id, auth.role()).await?))
    }

    /// List orders
    ///
    /// Newest first, `limit` per page (default 50, at most 200). Each order comes with
    /// its refunds for operators only: a merchant asks for one order to see them.
    #[oai(path = "/orders", method = "get", operation_id = "listOrders")]
    async fn list(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        status: Query<Option<OrderStatus>>,
        /// Orders per page: 1 to 200, 50 by default.
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
        /// A `next_cursor` payport answered.
        #[oai(validator(max_length = 88, pattern = r"^p1\.[0-9]{1,16}\.[A-Za-z0-9_]{1,64}$"))]
        cursor: Query<Option<String>>,
    ) -> Result<Json<OrderPage>, ApiError> {
        let filter = OrderFilter {
            status: status.0.map(Into::into),
            limit: super::page_limit(limit.0)?,
            cursor: cursor.0,
        };
        let page = state.orders.list(&filter).await?;
        // The refunds still make refundable_amount, whoever asks: one read for the page.
        let nos: Vec<OutTradeNo> = page.items.iter().map(|o| o.out_trade_no.clone()).collect();
        let mut refunds: HashMap<OutTradeNo, Vec<Refund>> = HashMap::new();
        for refund in state.refunds.list_for_orders(&nos).await? {
            refunds
                .entry(refund.out_trade_no.clone())
                .or_default()
                .push(refund);
        }
        let mut items = Vec::with_capacity(page.items.len());
        for order in page.items {
            let of_order = refunds.remove(&order.out_trade_no).unwrap_or_default();
            let mut item = Order::from_domain(order, of_order, auth.role());
            if auth.role() == Role::Merchant {
                item.refunds = None;
            }
            items.push(item);
        }
        Ok(Json(OrderPage {
            items,
            next_cursor: page.next_cursor,
        }))
    }

    /// Start a payment
    ///
    /// Returns what the buyer needs to pay: a pay URL and form (page, wap), an order
    /// string (app) or a QR code (qr). Calling it again for the same order is safe.
    #[oai(
        path = "/orders/:out_trade_no/payments",
        method = "post",
        operation_id = "startPayment"
    )]
    async fn start_payment(
        &self,
        state: Data<&Arc<AppState>>,
        _auth: BearerAuth,
        #[oai(validator(max_length = 64, pattern = r"^[A-Za-z0-9_]{1,64}$"))] out_trade_no: Path<
            String,
        >,
        #[oai(
            name = "Idempotency-Key",
            validator(max_length = 255, pattern = r"^[!-~]{1,255}$")
        )]
        _idempotency_key: Header<Option<String>>,
        body: JsonBody<StartPayment>,
    ) -> Result<Json<Payment>, ApiError> {
        let id = parse_id(OutTradeNo::parse)(out_trade_no.0)?;
        let method = body.0.method;
        let instruction = state
            .orders
            .start_payment(
                &id,
                method.into(),
                body.0.return_url.map(|t| t.0),
                body.0.quit_url.map(|t| t.0),
            )
            .await?;
        let mut payment = Payment {
            method,
            pay_url: None,
            form_html: None,
            order_string: None,
            qr_code: None,
            qr_svg: None,
        };
        match instruction {
            PaymentInstruction::Redirect { pay_url, form_html } => {
                payment.pay_url = Some(pay_url);
                payment.form_html = Some(form_html);
            }
            PaymentInstruction::AppOrderString(order) => payment.order_string = Some(order),
            PaymentInstruction::QrCode(code) => {
                payment.qr_svg = Some(qr_svg(&code)?);
                payment.qr_code = Some(code);
            }
        }
        Ok(Json(payment))
    }

    /// Sync an order with Alipay
    ///
    /// Asks Alipay about the trade and applies what it says (payment, close, finish).
    #[oai(
        path = "/orders/:out_trade_no/sync",
        method = "post",
        operation_id = "syncOrder"
    )]
    async fn sync(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        #[oai(validator(max_length = 64, pattern = r"^[A-Za-z0-9_]{1,64}$"))] out_trade_no: Path<
            String,
        >,
    ) -> Result<Json<Order>, ApiError> {
        let id = parse_id(OutTradeNo::parse)(out_trade_no.0)?;
        state.orders.sync(&id).await?;
        Ok(Json(order_view(&state, &id, auth.role()).await?))
    }

    /// Close an order
    ///
    /// Closes an unpaid order at Alipay and here. A paid order cannot be closed.
    #[oai(
        path = "/orders/:out_trade_no/close",
        method = "post",
        operation_id = "closeOrder"
    )]
    async fn close(
        &self,
        state: Data<&Arc<AppState>>,
        auth: BearerAuth,
        #[oai(validator(max_length = 64, pattern = r"^[A-Za-z0-9_]{1,64}$"))] out_trade_no: Path<
            String,
        >,
    ) -> Result<Json<Order>, ApiError> {
        let id = parse_id(OutTradeNo::parse)(out_trade_no.0)?;
        state.orders.close(&id).await?;
        Ok(Json(order_view(&state, &id, auth.role()).await?))
    }
}
