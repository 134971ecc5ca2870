//! Reading Alipay's trade bill (PROTOCOL.md A10): a hand-made file in Alipay's
//! published layout, thousands of rows, and files that must be refused. The bill the
//! simulator makes is read in the simulator's tests, over loopback.

// Test support code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::io::Write;

use chrono::{TimeZone, Utc};
use payport_alipay_openapi::{parse_trade_bill_zip, BillFileError};
use payport_domain::ports::{BillLine, BillLineKind};
use payport_domain::Amount;
use zip::write::SimpleFileOptions;

const SAMPLE: &str = "testdata/bills/2088123456789012_20240115_业务明细.csv";

fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, bytes) in files {
        zip.start_file(*name, SimpleFileOptions::default()).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

fn gbk(text: &str) -> Vec<u8> {
    encoding_rs::GBK.encode(text).0.into_owned()
}

/// A bill zip whose detail file is `detail`, beside a summary that must be ignored.
fn bill(detail: &str) -> Vec<u8> {
    zip_of(&[
        (
            "2088_20240115_业务明细(汇总).csv",
            &gbk("#汇总\r\n合计,1\r\n"),
        ),
        ("2088_20240115_业务明细.csv", &gbk(detail)),
    ])
}

fn sample() -> String {
    let path = format!("{}/../../{SAMPLE}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap()
}

fn beijing(d: u32, h: u32, m: u32, s: u32) -> chrono::DateTime<Utc> {
    // Beijing is UTC+8 (PROTOCOL.md D).
    Utc.with_ymd_and_hms(2024, 1, d, h, m, s).unwrap() - chrono::Duration::hours(8)
}

#[test]
fn alipays_sample_layout_is_read_by_column_name() {
    let lines = parse_trade_bill_zip(&bill(&sample())).unwrap();
    let line = |kind, out: &str, trade: &str, request: Option<&str>, amount: &str, at| BillLine {
        kind,
        out_trade_no: out.into(),
        trade_no: trade.into(),
        out_request_no: request.map(Into::into),
        amount: Amount::parse(amount).unwrap(),
        finished_at: at,
    };
    assert_eq!(
        lines,
        vec![
            line(
                BillLineKind::Payment,
                "ord_20240115_001",
                "2024011522001401011234567890",
                None,
                "25.00",
                beijing(15, 9, 58, 40)
            ),
            // 订单金额, not 商家实收 (118.00, after the merchant's discount).
            line(
                BillLineKind::Payment,
                "ord_20240115_002",
                "2024011522001401011234567891",
                None,
                "128.00",
                beijing(15, 13, 3, 11)
            ),
            line(
                BillLineKind::Refund,
                "ord_20240110_007",
                "2024011022001401011234567000",
                Some("ord_20240110_007_r1"),
                "30.00",
                beijing(15, 16, 20, 33)
            ),
            line(
                BillLineKind::Refund,
                "ord_20231230_042",
                "2023123022001401011234560042",
                Some("20240115000000000000000000001"),
                "9.90",
                beijing(15, 23, 59, 59)
            ),
        ]
    );
}

#[test]
fn file_names_in_gbk_without_the_utf8_flag_are_found() {
    // Alipay's own zips name the files in GBK without the zip's UTF-8 flag. The zip
    // writer only takes UTF-8 names, so write an ASCII name of the same length and
    // put the GBK bytes in its place (in the local and the central header).
    let name = gbk("2088_20240115_业务明细.csv");
    let stand_in = "2088_20240115_XXXXXXXX.csv";
    assert_eq!(name.len(), stand_in.len());
    let mut bytes = zip_of(&[(stand_in, &gbk(&sample()))]);
    let mut replaced = 0;
    while let Some(at) = bytes
        .windows(name.len())
        .position(|w| w == stand_in.as_bytes())
    {
        bytes[at..at + name.len()].copy_from_slice(&name);
        replaced += 1;
    }
    assert_eq!(replaced, 2);
    assert_eq!(parse_trade_bill_zip(&bytes).unwrap().len(), 4);
}

#[test]
fn five_thousand_rows_are_read_exactly() {
    let text = sample();
    let header = text.lines().nth(4).unwrap();
    let mut detail = format!("#支付宝业务明细查询\r\n{header}\r\n");
    let mut paid = 0_i64;
    let mut refunded = 0_i64;
    for i in 0..5_000_i64 {
        let fen = 1 + i * 7_919 % 10_000_000;
        let (kind, sign, request) = if i % 5 == 4 {
            refunded += fen;
            ("退款", "-", format!("r{i}"))
        } else {
            paid += fen;
            ("交易", "", String::new())
        };
        let amount = format!("{sign}{}.{:02}", fen / 100, fen % 100);
        detail.push_str(&format!(
            "o{i}\t,2024011522001{i:015}\t,{kind}\t,茶\t,2024-01-15 00:00:00\t,2024-01-15 {:02}:{:02}:{:02}\t,\t,\t,\t,\t,\t,{amount}\t,{amount}\t,0.00\t,0.00\t,0.00\t,0.00\t,0.00\t,\t,0.00\t,0.00\t,{request}\t,0.00\t,0.00\t,\r\n",
            i / 3600 % 24, i / 60 % 60, i % 60
        ));
    }
    detail.push_str("#-----------------------------------------业务明细列表结束------------------------------------\r\n");
    let lines = parse_trade_bill_zip(&bill(&detail)).unwrap();
    assert_eq!(lines.len(), 5_000);
    let total = |kind| -> i64 {
        lines
            .iter()
            .filter(|l| l.kind == kind)
            .map(|l| l.amount.fen())
            .sum()
    };
    assert_eq!(total(BillLineKind::Payment), paid);
    assert_eq!(total(BillLineKind::Refund), refunded);
    assert_eq!(lines[4].out_request_no.as_deref(), Some("r4"));
    assert_eq!(lines[4999].out_trade_no, "o4999");
}

fn refused(zip: &[u8]) -> String {
    parse_trade_bill_zip(zip).unwrap_err().to_string()
}

#[test]
fn malformed_bills_are_refused_with_the_reason() {
    assert!(matches!(
        parse_trade_bill_zip(b"<html>expired</html>"),
        Err(BillFileError::NotZip(_))
    ));
    let summary_only = zip_of(&[("2088_20240115_业务明细(汇总).csv", &gbk("合计\r\n"))]);
    assert_eq!(
        parse_trade_bill_zip(&summary_only),
        Err(BillFileError::NoDetailFile)
    );
    let headless = sample().replace("业务类型", "类型");
    assert_eq!(
        parse_trade_bill_zip(&bill(&headless)),
        Err(BillFileError::NoHeader("业务类型"))
    );
    assert_eq!(
        parse_trade_bill_zip(&bill("#only comments\r\n")),
        Err(BillFileError::NoHeader("业务类型"))
    );
    let bad_amount = sample().replace(",25.00\t,25.00\t,", ",25.00\t,25.0x\t,");
    let message = refused(&bill(&bad_amount));
    assert!(
        message.starts_with("line 6 of the detail file: 订单金额"),
        "{message}"
    );
    let wrong_sign = sample().replace(",-30.00\t,-30.00\t,", ",-30.00\t,30.00\t,");
    assert!(refused(&bill(&wrong_sign)).starts_with("line 8 "));
    let short_row = sample().replace(",备注", ",备注,额外");
    assert_eq!(
        refused(&bill(&short_row)),
        "line 6 of the detail file: 25 cells under 26 columns"
    );
    let bad_time = sample().replace("2024-01-15 13:03:11", "2024/01/15 13:03:11");
    assert!(refused(&bill(&bad_time)).starts_with("line 7 "));
    let other_kind = sample().replace("交易\t,绿茶", "冻结\t,绿茶");
    assert!(refused(&bill(&other_kind)).contains("冻结"));
    let not_gbk = zip_of(&[("2088_20240115_业务明细.csv", b"\x81\x20")]);
    assert_eq!(parse_trade_bill_zip(&not_gbk), Err(BillFileError::NotGbk));
}
