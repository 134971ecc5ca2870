//! The simulator's HTTP routes.

use poem::{get, post, EndpointExt, Route};

use crate::sim::Simulator;
use crate::{cashier, control, mapi, openapi};

impl Simulator {
    /// The simulator as a poem endpoint, to serve standalone or nest (e.g. at `/sim`).
    pub fn endpoint(&self) -> impl poem::Endpoint {
        let control = Route::new()
            .at("/trades", get(control::list_trades))
            .at("/trades/:id", get(control::show_trade))
            .at("/trades/:id/pay", post(control::pay_trade))
            .at("/trades/:id/close", post(control::close_trade))
            .at("/trades/:id/refund", post(control::console_refund))
            .at("/refunds", get(control::list_refunds))
            .at("/ledger", get(control::show_ledger))
            .at("/refund-report", get(control::refund_report))
            .at("/notifications", get(control::list_notifications))
            .at("/notifications/release", post(control::release))
            .at(
                "/faults",
                get(control::get_faults)
                    .put(control::put_faults)
                    .delete(control::clear_faults),
            )
            .at("/tick", post(control::tick))
            .at("/alipay-cert/rotate", post(control::rotate_alipay_cert))
            .at("/clock/advance", post(control::advance_clock));
        Route::new()
            .at("/gateway.do", get(openapi::gateway).post(openapi::gateway))
            .at("/cashier/:id", get(cashier::show_cashier))
            .at("/cashier/:id/pay", post(cashier::pay_at_cashier))
            .at("/cashier/:id/cancel", post(cashier::cancel_at_cashier))
            .at("/qr/:id", get(cashier::scanned))
            .at("/bills/:kind/:file", get(cashier::bill_file))
            .at("/mapi/gateway.do", get(mapi::gateway).post(mapi::gateway))
            .at("/mapi/confirm/:batch_no", post(mapi::confirm))
            .nest("/control", control)
            .data(self.clone())
    }
}
