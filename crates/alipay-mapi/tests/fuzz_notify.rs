//! Fuzzing what the legacy gateway receives, on stable Rust with proptest:
//! `batch_refund_notify` (its fields and `result_details`), the MD5 check, and the
//! nopwd service's XML answer.
//!
//! None of them may panic on any input. Beyond that:
//! - `result_details` written from records reads back as exactly those records, and a
//!   whole notification built here reads back as what was built;
//! - parameters signed with `sign_params` and sent as a form verify after decoding;
//! - an XML answer built here (declaration, comments, unknown elements, whitespace, in
//!   any order) reads back as the `is_success` and `error` it was built with.
//!
//! Cases: `PROPTEST_CASES` (proptest's default, 256, when unset).

use payport_alipay_mapi::md5::{sign_params, verify, Verdict};
use payport_alipay_mapi::notify::FeeRefund;
use payport_alipay_mapi::{
    parse_result_details, BatchRefundNotify, Md5Key, ResultRecord, SyncAnswer,
};
use payport_alipay_openapi::parse_form_urlencoded;
use payport_domain::{Amount, BatchNo, TradeNo};
use proptest::prelude::*;

const FIELDS: [&str; 9] = [
    "notify_time",
    "notify_type",
    "notify_id",
    "batch_no",
    "success_num",
    "result_details",
    "sign",
    "sign_type",
    "unknown",
];

fn key() -> Md5Key {
    Md5Key::new("k3v9x0m2q8w4e7r1t6y5u0i9o3p2a8s4").expect("key")
}

/// Text made of `result_details`' separators and near-valid pieces of records.
fn details_like() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "[0-9]{1,28}",
        "(0|[1-9][0-9]{0,9})(\\.[0-9]{1,3})?",
        "SUCCESS|TRADE_HAS_CLOSED|[A-Z_]{0,12}|success",
        "[#^$|]",
        "[a-z@.]{0,12}",
        any::<String>(),
    ];
    prop::collection::vec(piece, 0..16).prop_map(|p| p.concat())
}

fn amount() -> impl Strategy<Value = Amount> {
    (0..=Amount::MAX.fen()).prop_map(|fen| Amount::from_fen(fen).expect("in range"))
}

fn record() -> impl Strategy<Value = ResultRecord> {
    let fee = (
        "[a-z0-9]{1,8}@[a-z]{1,8}\\.com",
        "2088[0-9]{12}",
        amount(),
        "SUCCESS|[A-Z][A-Z0-9_]{0,20}",
    )
        .prop_map(|(email, user, amount, result)| FeeRefund {
            account_email: email,
            account_user_id: user,
            amount,
            result,
        });
    (
        "[0-9A-Za-z]{1,64}",
        amount(),
        "SUCCESS|[A-Z][A-Z0-9_]{0,20}",
        prop::option::of(fee),
        prop::collection::vec(prop::collection::vec("[a-z0-9@.]{0,8}", 1..5), 0..3),
    )
        .prop_map(|(trade_no, amount, result, fee, royalties)| ResultRecord {
            trade_no: TradeNo::parse(trade_no).expect("generated trade_no"),
            amount,
            result,
            fee,
            royalties,
        })
}

/// Distinct trades, as a readable notification has them.
fn records() -> impl Strategy<Value = Vec<ResultRecord>> {
    prop::collection::vec(record(), 1..6).prop_map(|mut records| {
        let mut seen = std::collections::HashSet::new();
        records.retain(|r| seen.insert(r.trade_no.clone()));
        records
    })
}

fn write_details(records: &[ResultRecord]) -> String {
    let written: Vec<String> = records
        .iter()
        .map(|r| {
            let mut text = format!("{}^{}^{}", r.trade_no, r.amount, r.result);
            if let Some(fee) = &r.fee {
                text += &format!(
                    "${}^{}^{}^{}",
                    fee.account_email, fee.account_user_id, fee.amount, fee.result
                );
            }
            for royalty in &r.royalties {
                text += &format!("|{}", royalty.join("^"));
            }
            text
        })
        .collect();
    written.join("#")
}

/// Royalty parts are kept only when not empty (a bare `|` is nothing to read).
fn as_read(mut records: Vec<ResultRecord>) -> Vec<ResultRecord> {
    for r in &mut records {
        r.royalties
            .retain(|p| p.iter().any(|f| !f.is_empty()) || p.len() > 1);
    }
    records
}

#[derive(Debug, Clone)]
struct Xml {
    text: String,
    is_success: String,
    error: Option<String>,
}

fn xml_answer() -> impl Strategy<Value = Xml> {
    let noise = prop_oneof![
        Just(String::new()),
        Just("<!-- note -->".to_owned()),
        "<request><param name=\"[a-z_]{1,8}\">[a-z0-9]{0,8}</param></request>",
        "<sign>[a-f0-9]{0,8}</sign>",
        Just("<empty/>".to_owned()),
    ];
    (
        "T|F|P|[A-Z]{0,3}",
        prop::option::of("[A-Z_]{1,24}"),
        prop::collection::vec(noise, 3),
        any::<bool>(),
        any::<bool>(),
        "[ \n\t]{0,2}",
    )
        .prop_map(|(is_success, error, noise, decl, error_first, ws)| {
            let s = format!("{ws}<is_success>{ws}{is_success}{ws}</is_success>{ws}");
            let e = error
                .as_ref()
                .map(|e| format!("<error>{e}</error>{ws}"))
                .unwrap_or_default();
            let (a, b) = if error_first { (e, s) } else { (s, e) };
            let decl = if decl {
                "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
            } else {
                ""
            };
            Xml {
                text: format!(
                    "{decl}<alipay>{}{a}{}{b}{}</alipay>{ws}",
                    noise[0], noise[1], noise[2]
                ),
                is_success,
                error,
            }
        })
}

fn xml_like() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "</?(alipay|is_success|error|request|x)>",
        "<(alipay|is_success|error)/>",
        "T|F|SYSTEM_ERROR|&amp;|&bogus;|&#0;|&#x110000;",
        "<!--|-->|<!\\[CDATA\\[|\\]\\]>|<\\?xml|\\?>|<!DOCTYPE",
        "[<>/=\"' a-z]{0,6}",
        any::<String>(),
    ];
    prop::collection::vec(piece, 0..16).prop_map(|p| p.concat())
}

proptest! {
    #[test]
    fn fuzz_mapi_result_details_any_text(text in prop_oneof![any::<String>(), details_like()]) {
        if let Ok(records) = parse_result_details(&text) {
            // Whatever it reads, it can write back and read again to the same records.
            prop_assert_eq!(parse_result_details(&write_details(&records)), Ok(records));
        }
    }

    #[test]
    fn fuzz_mapi_result_details_written_then_read(records in records()) {
        let text = write_details(&records);
        prop_assert_eq!(parse_result_details(&text), Ok(as_read(records)));
    }

    #[test]
    fn fuzz_mapi_notify_fields_any(
        fields in prop::collection::vec(
            (prop_oneof![prop::sample::select(FIELDS.to_vec()).prop_map(String::from), any::<String>()],
             prop_oneof![details_like(), any::<String>(), Just("batch_refund_notify".to_owned())]),
            0..10,
        ),
    ) {
        let _ = BatchRefundNotify::from_fields(&fields).map(BatchRefundNotify::into_notice);
        prop_assert_ne!(verify(&fields, &key()).verdict, Verdict::Valid);
    }

    #[test]
    fn fuzz_mapi_notify_built_then_read(
        records in records(),
        batch_no in "20[0-9]{6}[0-9]{3,24}",
        notify_id in "[a-z0-9]{1,40}",
        success_num in any::<u32>(),
        notify_time in "20[0-9]{2}-[01][0-9]-[0-3][0-9] [0-2][0-9]:[0-5][0-9]:[0-5][0-9]|[0-9 :-]{0,19}",
    ) {
        let fields: Vec<(String, String)> = vec![
            ("notify_time".into(), notify_time),
            ("notify_type".into(), "batch_refund_notify".into()),
            ("notify_id".into(), notify_id.clone()),
            ("batch_no".into(), batch_no.clone()),
            ("success_num".into(), success_num.to_string()),
            ("result_details".into(), write_details(&records)),
        ];
        let signed = sign_params(&fields, &key());
        // Sent as a form, decoded once, checked: the signature holds.
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(signed.params.iter())
            .finish();
        let received = parse_form_urlencoded(body.as_bytes()).expect("a form");
        prop_assert_eq!(verify(&received, &key()).verdict, Verdict::Valid);
        let read = BatchRefundNotify::from_fields(&received).expect("readable");
        prop_assert_eq!(read.notify_id, notify_id);
        prop_assert_eq!(read.batch_no, BatchNo::parse(batch_no).expect("digits"));
        prop_assert_eq!(read.success_num, success_num);
        prop_assert_eq!(read.records, as_read(records));
    }

    #[test]
    fn fuzz_mapi_md5_verify_any_fields(
        fields in prop::collection::vec(
            (prop::sample::select(FIELDS.to_vec()).prop_map(String::from), any::<String>()),
            0..8,
        ),
    ) {
        let check = verify(&fields, &key());
        prop_assert_ne!(check.verdict, Verdict::Valid);
    }

    #[test]
    fn fuzz_mapi_nopwd_answer_any_text(text in prop_oneof![any::<String>(), xml_like()]) {
        if let Ok(answer) = SyncAnswer::parse(&text) {
            let batch_no = BatchNo::parse("20261121001").expect("digits");
            let _ = answer.clone().outcome(&batch_no, false);
            let _ = answer.outcome(&batch_no, true);
        }
    }

    #[test]
    fn fuzz_mapi_nopwd_answer_built_then_read(xml in xml_answer()) {
        let got = SyncAnswer::parse(&xml.text);
        if xml.is_success.is_empty() {
            prop_assert!(got.is_err(), "an empty <is_success> is refused: {}", xml.text);
        } else {
            prop_assert_eq!(
                got,
                Ok(SyncAnswer { is_success: xml.is_success, error: xml.error }),
                "{}", xml.text
            );
        }
    }
}
