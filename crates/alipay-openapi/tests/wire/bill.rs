//! The bill download URL query.

use super::*;

#[tokio::test]
async fn bill_download_url() {
    let wire = start().await;
    wire.state.reply(
        "alipay.data.dataservice.bill.downloadurl.query",
        Reply::Signed(format!(
            r#"{SUCCESS}","bill_download_url":"http:\/\/dwbillcenter.alipay.com\/downloadBillFile.resource?bizType=trade"}}"#
        )),
    );
    let url = wire
        .gateway
        .bill_download_url(BillType::Trade, "2026-11-20")
        .await
        .unwrap();
    assert_eq!(
        url,
        "http://dwbillcenter.alipay.com/downloadBillFile.resource?bizType=trade"
    );
    // The URL fetches the bill for whoever has it: the exchange log keeps no query.
    let logged = wire.log.all();
    let response = logged.last().and_then(|e| e.response.clone()).unwrap();
    assert!(!response.contains("bizType=trade"), "{response}");
    assert!(
        response.contains("downloadBillFile.resource?***"),
        "{response}"
    );
    let biz = wire.state.last().biz();
    assert_eq!(biz["bill_type"], "trade");
    assert_eq!(biz["bill_date"], "2026-11-20");
    wire.state.reply(
        "alipay.data.dataservice.bill.downloadurl.query",
        Reply::Signed(r#"{"code":"40004","msg":"Business Failed","sub_code":"isp.bill_not_exist","sub_msg":"账单不存在"}"#.into()),
    );
    let err = wire
        .gateway
        .bill_download_url(BillType::SignCustomer, "2026-11")
        .await
        .unwrap_err();
    assert!(
        matches!(err, GatewayError::Rejected(ref f) if f.sub_code.as_deref() == Some("isp.bill_not_exist"))
    );
}
