//! The buyer's browser comes back to the shop's return URL with `out_trade_no`
//! appended, the shop's own query and fragment kept.

use payport_blackbox::{both_backends, Backend, TestApp};
use serde_json::json;

both_backends!(the_return_url_names_the_order);

async fn the_return_url_names_the_order(backend: Backend) {
    let Some(app) = TestApp::spawn(backend, |_| {}).await else {
        return;
    };
    for (id, return_url, expected) in [
        (
            "HOOK_RETURN_1",
            "https://shop.example/thanks",
            "https://shop.example/thanks?out_trade_no=HOOK_RETURN_1",
        ),
        (
            "HOOK_RETURN_2",
            "https://shop.example/thanks?lang=zh&step=3",
            "https://shop.example/thanks?lang=zh&step=3&out_trade_no=HOOK_RETURN_2",
        ),
        (
            "HOOK_RETURN_3",
            "https://shop.example/thanks?lang=zh#receipt",
            "https://shop.example/thanks?lang=zh&out_trade_no=HOOK_RETURN_3#receipt",
        ),
    ] {
        app.create_order(id, "12.00").await;
        let (status, payment) = app
            .post(
                &format!("/v1/orders/{id}/payments"),
                &json!({ "method": "page", "return_url": return_url }),
            )
            .await;
        assert_eq!(status, 200, "{payment}");
        let to_cashier = app
            .browse(payment["pay_url"].as_str().expect("pay_url"))
            .await;
        let cashier = to_cashier.location();
        let paid = app.submit(&format!("{cashier}/pay")).await;
        assert_eq!(paid.status, 302, "{}", paid.text);
        let to_shop = app.browse(&paid.location()).await;
        assert_eq!(to_shop.status, 302, "{}", to_shop.text);
        assert_eq!(to_shop.location(), expected);
    }
}
