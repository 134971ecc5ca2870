//! The simulator alone: trades created, paid and refunded straight at `payport sim`,
//! with no payport in between, so that "refunds through the simulator" has a
//! denominator. The calls go through payport's own OpenAPI adapter, as a service built
//! on an official SDK would make them: each request signed, each answer verified.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chrono::Utc;
use payport_alipay_openapi::{
    AlipayOpenApiGateway, Client, OpenApiConfig, PrivateKey, PublicKey, SignType, Signer, Verifier,
};
use payport_blackbox::notify::APP_ID;
use payport_domain::ports::{
    Clock, PaymentGateway, PaymentInstruction, PaymentMethod, PaymentRequest, RefundSubmission,
    RefundSubmitted, RefundSubmitter,
};
use payport_domain::{Amount, AppId, OutRequestNo, OutTradeNo, RefundId, TradeNo};

use crate::flow::{Shop, TOTAL};
use crate::instant::ALIPAY_PUBLIC_PEM;

/// The DEV app key payport signs with by default, which the simulator trusts.
const APP_PRIVATE_PEM: &str = include_str!("../../../keys/dev_app_private_pkcs8.pem");

/// A merchant calling the simulator directly.
pub struct Direct {
    gateway: AlipayOpenApiGateway,
    /// Pays trades through the simulator's control API.
    shop: Arc<Shop>,
    total: Amount,
}

struct WallClock;

impl Clock for WallClock {
    fn now(&self) -> chrono::DateTime<Utc> {
        Utc::now()
    }
}

impl Direct {
    /// # Errors
    /// When the DEV keys do not parse or the HTTP client cannot be built.
    pub fn new(shop: Arc<Shop>) -> anyhow::Result<Direct> {
        let sim = shop.sim.as_deref().context("no simulator in this run")?;
        let app_id = AppId::parse(APP_ID)?;
        let config = OpenApiConfig::new(format!("{sim}/gateway.do"), app_id);
        let signer = Signer::new(&PrivateKey::parse(APP_PRIVATE_PEM)?, SignType::Rsa2)?;
        let verifier = Verifier::new(&PublicKey::parse(ALIPAY_PUBLIC_PEM)?, SignType::Rsa2)?;
        let client = Client::new(config, signer, verifier, Arc::new(WallClock))?;
        Ok(Direct {
            gateway: AlipayOpenApiGateway::new(client),
            shop,
            total: Amount::parse(TOTAL)?,
        })
    }

    /// A QR trade (`alipay.trade.precreate`), which the buyer then pays; returns its
    /// `out_trade_no` and Alipay's `trade_no`.
    pub async fn paid_trade(
        self: Arc<Self>,
        out_trade_no: String,
    ) -> Result<(String, String), String> {
        let request = PaymentRequest {
            method: PaymentMethod::Qr,
            out_trade_no: OutTradeNo::parse(out_trade_no.as_str()).map_err(|e| e.to_string())?,
            subject: "Bench tea".into(),
            body: None,
            total_amount: self.total,
            expires_at: Utc::now() + Duration::from_secs(3600),
            return_url: None,
            quit_url: None,
        };
        match self.gateway.create_payment(&request).await {
            Ok(PaymentInstruction::QrCode(_)) => {}
            other => return Err(format!("precreate answered {other:?}")),
        }
        self.shop.clone().buyer_pays(out_trade_no).await
    }

    /// A full refund (`alipay.trade.refund`), which must move the money at once.
    pub async fn refund(
        self: Arc<Self>,
        (out_trade_no, trade_no): (String, String),
    ) -> Result<(), String> {
        let refund = RefundSubmission {
            refund_id: RefundId::parse(format!("rf_{trade_no}")).map_err(|e| e.to_string())?,
            out_trade_no: OutTradeNo::parse(out_trade_no.as_str()).map_err(|e| e.to_string())?,
            trade_no: Some(TradeNo::parse(trade_no.as_str()).map_err(|e| e.to_string())?),
            out_request_no: OutRequestNo::parse(format!("{out_trade_no}r"))
                .map_err(|e| e.to_string())?,
            amount: self.total,
            reason: None,
            batch_no: None,
            submitted_at: None,
        };
        match self.gateway.submit_refund(&refund).await {
            Ok(RefundSubmitted::Succeeded(_)) => Ok(()),
            other => Err(format!("direct refund answered {other:?}")),
        }
    }
}
