//! The payment port: page/wap/app/QR payments, trade query and close, and the
//! verification of notifications and returns.

use async_trait::async_trait;
use payport_domain::alipay::AlipayTradeStatus;
use payport_domain::ids::TradeNo;
use payport_domain::ports::{
    CloseOutcome, IncomingNotification, PaymentGateway, PaymentInstruction, PaymentMethod,
    PaymentRequest, PaymentReturn, TradeLookup, TradeNotification, TradeSnapshot,
};
use payport_domain::{Amount, GatewayError, OutTradeNo};
use serde_json::{json, Value};

use crate::client::{encode, Call};
use crate::fields::{verified_fields, Fields};
use crate::gateway::{is_trade_not_exist, AlipayOpenApiGateway};
use payport_alipay_common::beijing;
use payport_alipay_common::html::escape;

impl AlipayOpenApiGateway {
    fn biz_for(request: &PaymentRequest, product_code: Option<&str>) -> Value {
        let mut biz = json!({
            "out_trade_no": request.out_trade_no.as_str(),
            "total_amount": request.total_amount.to_string(),
            "subject": request.subject,
            "time_expire": beijing::format(request.expires_at),
        });
        let mut set = |key: &str, value: Option<&str>| {
            if let (Some(value), Some(map)) = (value, biz.as_object_mut()) {
                map.insert(key.to_owned(), Value::from(value));
            }
        };
        set("product_code", product_code);
        set("body", request.body.as_deref());
        biz
    }

    /// Page and wap pay: a GET URL and the same as an auto-submitting POST form
    /// (PROTOCOL.md A3 pageExecute). Nothing is sent to Alipay here.
    fn redirect(
        &self,
        method: &str,
        biz: &Value,
        return_url: Option<&str>,
    ) -> Result<PaymentInstruction, GatewayError> {
        let biz_content = biz.to_string();
        let signed = self
            .client
            .sign(method, &biz_content, &[("return_url", return_url)])?;
        let pay_url = self.client.gateway_url_with(&encode(&signed.params));
        let system = signed.params.iter().filter(|(k, _)| k != "biz_content");
        let action = self.client.gateway_url_with(&encode(system));
        let form_html = format!(
            "<form name=\"punchout_form\" method=\"post\" action=\"{}\">\n\
             <input type=\"hidden\" name=\"biz_content\" value=\"{}\">\n\
             <input type=\"submit\" value=\"Pay with Alipay\" style=\"display:none\">\n\
             </form>\n<script>document.forms[0].submit();</script>",
            escape(&action),
            escape(&biz_content)
        );
        Ok(PaymentInstruction::Redirect { pay_url, form_html })
    }

    /// App pay: the signed order string, sorted, values URL-encoded (sdkExecute).
    fn app_order_string(&self, biz: &Value) -> Result<PaymentInstruction, GatewayError> {
        let mut params = self
            .client
            .sign("alipay.trade.app.pay", &biz.to_string(), &[])?
            .params;
        params.sort();
        Ok(PaymentInstruction::AppOrderString(encode(&params)))
    }

    async fn precreate(
        &self,
        request: &PaymentRequest,
    ) -> Result<PaymentInstruction, GatewayError> {
        let node = self
            .client
            .execute(Call {
                method: "alipay.trade.precreate",
                biz: Self::biz_for(request, None),
                out_trade_no: Some(request.out_trade_no.as_str()),
                out_request_no: None,
            })
            .await?;
        node.text("qr_code")
            .map(|qr| PaymentInstruction::QrCode(qr.to_owned()))
            .ok_or_else(|| GatewayError::Unknown("precreate answered without qr_code".into()))
    }
}

#[async_trait]
impl PaymentGateway for AlipayOpenApiGateway {
    async fn create_payment(
        &self,
        request: &PaymentRequest,
    ) -> Result<PaymentInstruction, GatewayError> {
        let return_url = self
            .client
            .config()
            .return_url
            .as_deref()
            .or(request.return_url.as_deref());
        match request.method {
            PaymentMethod::Page => self.redirect(
                "alipay.trade.page.pay",
                &Self::biz_for(request, Some("FAST_INSTANT_TRADE_PAY")),
                return_url,
            ),
            PaymentMethod::Wap => {
                let mut biz = Self::biz_for(request, Some("QUICK_WAP_WAY"));
                if let (Some(quit), Some(map)) = (&request.quit_url, biz.as_object_mut()) {
                    map.insert("quit_url".into(), Value::from(quit.as_str()));
                }
                self.redirect("alipay.trade.wap.pay", &biz, return_url)
            }
            PaymentMethod::App => {
                self.app_order_string(&Self::biz_for(request, Some("QUICK_MSECURITY_PAY")))
            }
            PaymentMethod::Qr => self.precreate(request).await,
        }
    }

    async fn query_trade(&self, out_trade_no: &OutTradeNo) -> Result<TradeLookup, GatewayError> {
        let answer = self
            .client
            .execute(Call {
                method: "alipay.trade.query",
                biz: json!({ "out_trade_no": out_trade_no.as_str() }),
                out_trade_no: Some(out_trade_no.as_str()),
                out_request_no: None,
            })
            .await;
        let node = match answer {
            Err(e) if is_trade_not_exist(&e) => return Ok(TradeLookup::NotFound),
            other => other?,
        };
        let fields = Fields::from_node(&node);
        Ok(TradeLookup::Found(TradeSnapshot {
            status: fields.required("trade_status", AlipayTradeStatus::parse)?,
            trade_no: fields.required("trade_no", TradeNo::parse)?,
            total_amount: fields.required("total_amount", Amount::parse)?,
            buyer_id: fields.text("buyer_user_id").or(fields.text("buyer_id")),
            buyer_logon_id: fields.text("buyer_logon_id"),
            paid_at: fields.time("send_pay_date"),
        }))
    }

    async fn close_trade(&self, out_trade_no: &OutTradeNo) -> Result<CloseOutcome, GatewayError> {
        let answer = self
            .client
            .execute(Call {
                method: "alipay.trade.close",
                biz: json!({ "out_trade_no": out_trade_no.as_str() }),
                out_trade_no: Some(out_trade_no.as_str()),
                out_request_no: None,
            })
            .await;
        match answer {
            Ok(_) => Ok(CloseOutcome::Closed),
            Err(e) if is_trade_not_exist(&e) => Ok(CloseOutcome::NeverOpened),
            Err(e) => Err(e),
        }
    }

    async fn verify_notification(
        &self,
        notification: &IncomingNotification,
    ) -> Result<TradeNotification, GatewayError> {
        let fields = verified_fields(&notification.fields, &self.client.verifier())?;
        Ok(TradeNotification {
            notify_id: fields.required("notify_id", |s| Ok::<_, String>(s.to_owned()))?,
            app_id: fields.required("app_id", payport_domain::AppId::parse)?,
            seller_id: fields.optional("seller_id", payport_domain::SellerId::parse)?,
            out_trade_no: fields.required("out_trade_no", OutTradeNo::parse)?,
            trade_no: fields.required("trade_no", TradeNo::parse)?,
            trade_status: fields.required("trade_status", AlipayTradeStatus::parse)?,
            total_amount: fields.required("total_amount", Amount::parse)?,
            buyer_id: fields.text("buyer_id"),
            buyer_logon_id: fields.text("buyer_logon_id"),
            gmt_payment: fields.time("gmt_payment"),
            out_biz_no: fields.text("out_biz_no"),
            refund_fee: fields.optional("refund_fee", Amount::parse_reported)?,
            gmt_refund: fields.time("gmt_refund"),
        })
    }

    async fn verify_return(
        &self,
        params: &[(String, String)],
    ) -> Result<PaymentReturn, GatewayError> {
        let fields = verified_fields(params, &self.client.verifier())?;
        Ok(PaymentReturn {
            app_id: fields.required("app_id", payport_domain::AppId::parse)?,
            seller_id: fields.optional("seller_id", payport_domain::SellerId::parse)?,
            out_trade_no: fields.required("out_trade_no", OutTradeNo::parse)?,
            trade_no: fields.optional("trade_no", TradeNo::parse)?,
            total_amount: fields.required("total_amount", Amount::parse)?,
        })
    }
}
