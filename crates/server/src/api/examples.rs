//! Examples shown in the generated API documentation.

use chrono::{TimeZone, Utc};
use poem_openapi::types::Example;

use super::event_models::*;
use super::models::*;

fn at(minute: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 8, minute, 0)
        .single()
        .unwrap_or_default()
}

impl Example for CreateOrder {
    fn example() -> Self {
        CreateOrder {
            subject: Text("Longjing green tea, 250 g".into()),
            total_amount: AmountText("88.88".into()),
            out_trade_no: Some(Text("shop_20261121_0001".into())),
            body: None,
            timeout_minutes: Some(30),
        }
    }
}

impl Example for StartPayment {
    fn example() -> Self {
        StartPayment {
            method: PaymentMethod::Qr,
            return_url: Some(Text(
                "https://shop.example/orders/shop_20261121_0001".into(),
            )),
            quit_url: None,
        }
    }
}

impl Example for Payment {
    fn example() -> Self {
        Payment {
            method: PaymentMethod::Qr,
            pay_url: None,
            form_html: None,
            order_string: None,
            qr_code: Some("https://qr.alipay.com/bax08431mxyv5nrzlsxe0036".into()),
            qr_svg: Some("<svg xmlns=\"http://www.w3.org/2000/svg\" …></svg>".into()),
        }
    }
}

impl Example for CreateRefund {
    fn example() -> Self {
        CreateRefund {
            amount: AmountText("20.00".into()),
            reason: Some(Text("one box arrived damaged".into())),
            out_request_no: Some(Text("shop_20261121_0001_r1".into())),
            gateway: Some(RefundGateway::OpenApi),
        }
    }
}

impl Example for RejectRefund {
    fn example() -> Self {
        RejectRefund {
            reason: Text("the goods were not returned".into()),
        }
    }
}

impl Example for Refund {
    fn example() -> Self {
        Refund {
            refund_id: "rf_5f1c0e3a9b7d4c2e8f6a1b3c5d7e9f01".into(),
            out_trade_no: "shop_20261121_0001".into(),
            out_request_no: "shop_20261121_0001_r1".into(),
            amount: "20.00".into(),
            reason: Some("one box arrived damaged".into()),
            gateway: RefundGateway::OpenApi,
            status: RefundStatus::Succeeded,
            failure: None,
            last_error: None,
            rejection_reason: None,
            operator_form_html: None,
            batch_no: None,
            attempts: 1,
            created_at: at(10),
            completed_at: Some(at(10)),
            version: 2,
            external: false,
        }
    }
}

impl Example for Order {
    fn example() -> Self {
        Order {
            out_trade_no: "shop_20261121_0001".into(),
            subject: "Longjing green tea, 250 g".into(),
            body: None,
            total_amount: "88.88".into(),
            status: OrderStatus::PartiallyRefunded,
            trade_no: Some("2026112122001400000000000001".into()),
            refunded_amount: "20.00".into(),
            refundable_amount: "68.88".into(),
            paid_after_close: false,
            created_at: at(0),
            expires_at: at(30),
            paid_at: Some(at(2)),
            closed_at: None,
            version: 3,
            refunds: Some(vec![Refund::example()]),
        }
    }
}

impl Example for CreateOperatorBatch {
    fn example() -> Self {
        CreateOperatorBatch {
            refund_ids: vec![
                Text("rf_5f1c0e3a9b7d4c2e8f6a1b3c5d7e9f01".into()),
                Text("rf_0a2b4c6d8e0f1a3b5c7d9e1f3a5b7c9d".into()),
            ],
        }
    }
}

impl Example for Event {
    fn example() -> Self {
        Event {
            id: "evt_9a1c3e5f7b9d1f3a5c7e9b1d3f5a7c9e".into(),
            event_type: EventType::RefundSucceeded,
            created_at: at(10),
            data: EventData {
                object: EventObject::Refund(Refund::example()),
            },
        }
    }
}

impl Example for CreateWebhookEndpoint {
    fn example() -> Self {
        CreateWebhookEndpoint {
            url: Text("https://shop.example/hooks/payport".into()),
            event_types: Some(vec![EventType::OrderPaid, EventType::RefundSucceeded]),
        }
    }
}
