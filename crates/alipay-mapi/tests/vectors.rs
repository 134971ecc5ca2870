//! Every case of `testdata/vectors/mapi_md5.json`, byte for byte: the string to sign,
//! the string hashed, the sign, and each notify's verdict.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use chrono::{TimeZone, Utc};
use payport_alipay_mapi::md5::{self, Verdict};
use payport_alipay_mapi::request::refund_request;
use payport_alipay_mapi::{build_batch, BatchLine, MapiConfig, MapiMode, Md5Key};
use payport_domain::{Amount, BatchNo, TradeNo};
use serde_json::Value;

fn vectors() -> Value {
    let path = format!(
        "{}/../../testdata/vectors/mapi_md5.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn key_text() -> String {
    vectors()["keys"]["md5_key"].as_str().unwrap().to_owned()
}

fn key() -> Md5Key {
    Md5Key::new(key_text()).unwrap()
}

fn cases(kind: &str) -> Vec<Value> {
    let all = vectors()["cases"].as_array().unwrap().clone();
    all.into_iter().filter(|c| c["kind"] == kind).collect()
}

fn params(case: &Value) -> Vec<(String, String)> {
    case["params"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect()
}

fn text<'a>(case: &'a Value, field: &str) -> &'a str {
    case[field].as_str().unwrap()
}

#[test]
fn every_request_vector_signs_byte_for_byte() {
    let requests = cases("request");
    assert_eq!(requests.len(), 5);
    for case in requests {
        let id = text(&case, "id");
        let params = params(&case);
        let content = md5::string_to_sign(params.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        assert_eq!(content, text(&case, "string_to_sign"), "{id}");
        assert_eq!(
            format!("{content}{}", key_text()),
            text(&case, "string_to_hash"),
            "{id}"
        );
        assert_eq!(md5::sign(&content, &key()), text(&case, "sign"), "{id}");
        // sign_params: same sign, `sign_type=MD5` added, empty values not sent.
        let signed = md5::sign_params(&params, &key());
        assert_eq!(signed.string_to_sign, text(&case, "string_to_sign"), "{id}");
        let get = |k: &str| {
            signed
                .params
                .iter()
                .find(|(name, _)| name == k)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("sign"), Some(text(&case, "sign")), "{id}");
        assert_eq!(get("sign_type"), Some("MD5"), "{id}");
        assert!(signed.params.iter().all(|(_, v)| !v.is_empty()), "{id}");
        // What was signed verifies.
        assert_eq!(md5::verify(&signed.params, &key()).verdict, Verdict::Valid);
    }
}

#[test]
fn every_notify_vector_gets_its_verdict() {
    let notifies = cases("notify_verify");
    assert_eq!(notifies.len(), 3);
    for case in notifies {
        let id = text(&case, "id");
        let check = md5::verify(&params(&case), &key());
        assert_eq!(check.string_to_verify, text(&case, "verify_string"), "{id}");
        assert_eq!(
            md5::sign(&check.string_to_verify, &key()),
            text(&case, "expected_sign_for_received_params"),
            "{id}"
        );
        let expected = case["expected"].as_bool().unwrap();
        assert_eq!(check.is_valid(), expected, "{id}");
        if !expected {
            assert_eq!(check.verdict, Verdict::BadSign, "{id}");
        }
    }
}

/// The batch builder and request builder, fed the vectors' data, produce the vectors'
/// exact parameter sets and signs.
#[test]
fn the_builders_reproduce_the_pwd_request_vectors() {
    for (id, seller) in [
        ("mapi_refund_pwd_two_trades", "seller_email"),
        ("mapi_refund_pwd_seller_user_id", "seller_user_id"),
    ] {
        let case = cases("request")
            .into_iter()
            .find(|c| c["id"] == id)
            .unwrap();
        let p = &case["params"];
        let field = |k: &str| p[k].as_str().unwrap().to_owned();
        let mut config = MapiConfig::new(
            "https://mapi.alipay.com/gateway.do",
            field("partner"),
            key(),
            field("notify_url"),
        );
        match seller {
            "seller_email" => config.seller_email = Some(field("seller_email")),
            _ => config.seller_user_id = Some(field("seller_user_id")),
        }
        let lines: Vec<BatchLine> = field("detail_data")
            .split('#')
            .map(|record| {
                let [trade, amount, reason] = record.split('^').collect::<Vec<_>>()[..] else {
                    panic!("{record}");
                };
                BatchLine {
                    trade_no: TradeNo::parse(trade).unwrap(),
                    amount: Amount::parse(amount).unwrap(),
                    reason: Some(reason.to_owned()),
                }
            })
            .collect();
        // refund_date is Beijing time: 10:0x there is 02:0x UTC.
        let naive =
            chrono::NaiveDateTime::parse_from_str(&field("refund_date"), "%Y-%m-%d %H:%M:%S")
                .unwrap();
        let now = Utc.from_utc_datetime(&(naive - chrono::Duration::hours(8)));
        let batch = build_batch(BatchNo::parse(field("batch_no")).unwrap(), now, &lines).unwrap();
        let signed = refund_request(&config, MapiMode::Password, &batch);
        assert_eq!(signed.string_to_sign, text(&case, "string_to_sign"), "{id}");
        let sign = signed.params.iter().find(|(k, _)| k == "sign").unwrap();
        assert_eq!(sign.1, text(&case, "sign"), "{id}");
        // Every vector parameter is sent with its value (sign_type included).
        for (k, v) in params(&case) {
            assert!(signed.params.contains(&(k.clone(), v)), "{id}: {k}");
        }
    }
}
