//! Reading the trade bill file (PROTOCOL.md A10): the zip, its GBK detail file, and
//! each row as a [`BillLine`]. No IO: bytes in, lines out.

use std::io::Read;

use payport_alipay_common::beijing;
use payport_domain::ports::{BillLine, BillLineKind};
use payport_domain::Amount;

/// A detail file larger than this is refused rather than inflated: a bill has one
/// row per payment and refund, far below this even for a busy shop.
const MAX_DETAIL_BYTES: u64 = 512 * 1024 * 1024;

/// Why a bill file could not be read. A row is never dropped: it parses or this says
/// which line did not.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BillFileError {
    #[error("the bill is not a readable zip: {0}")]
    NotZip(String),
    #[error("the bill zip holds no detail file (…业务明细.csv)")]
    NoDetailFile,
    #[error("the detail file is not GBK text")]
    NotGbk,
    #[error("the detail file is larger than {MAX_DETAIL_BYTES} bytes")]
    TooLarge,
    #[error("the detail file has no header row with column {0}")]
    NoHeader(&'static str),
    #[error("line {line} of the detail file: {reason}")]
    BadRow { line: usize, reason: String },
}

/// The columns payport reads, by Alipay's header names.
const TRADE_NO: &str = "支付宝交易号";
const OUT_TRADE_NO: &str = "商户订单号";
const KIND: &str = "业务类型";
const FINISHED: &str = "完成时间";
/// The amount payport compares: what the merchant asked for (`total_amount`,
/// `refund_amount`), before any discount (PROTOCOL.md A10).
const AMOUNT: &str = "订单金额（元）";
const REQUEST_NO: &str = "退款批次号/请求号";
const COLUMNS: [&str; 6] = [TRADE_NO, OUT_TRADE_NO, KIND, FINISHED, AMOUNT, REQUEST_NO];

/// Reads the bill zip as Alipay serves it.
///
/// # Errors
/// [`BillFileError`], naming the line of a row that does not parse.
pub fn parse_trade_bill_zip(bytes: &[u8]) -> Result<Vec<BillLine>, BillFileError> {
    let not_zip = |e: zip::result::ZipError| BillFileError::NotZip(e.to_string());
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(not_zip)?;
    for i in 0..archive.len() {
        let file = archive.by_index(i).map_err(not_zip)?;
        // Alipay's zips name the files in GBK without the zip's UTF-8 flag.
        let name = match std::str::from_utf8(file.name_raw()) {
            Ok(name) => name.to_owned(),
            Err(_) => encoding_rs::GBK.decode(file.name_raw()).0.into_owned(),
        };
        if !name.ends_with("业务明细.csv") {
            continue;
        }
        let mut gbk = Vec::new();
        file.take(MAX_DETAIL_BYTES + 1)
            .read_to_end(&mut gbk)
            .map_err(|e| BillFileError::NotZip(e.to_string()))?;
        if gbk.len() as u64 > MAX_DETAIL_BYTES {
            return Err(BillFileError::TooLarge);
        }
        let text = encoding_rs::GBK
            .decode_without_bom_handling_and_without_replacement(&gbk)
            .ok_or(BillFileError::NotGbk)?;
        return parse_detail(&text);
    }
    Err(BillFileError::NoDetailFile)
}

/// Reads the detail file's text (already decoded from GBK).
///
/// # Errors
/// [`BillFileError::NoHeader`] or [`BillFileError::BadRow`].
pub fn parse_detail(text: &str) -> Result<Vec<BillLine>, BillFileError> {
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, line)| (i + 1, line.trim_end_matches('\r')))
        .filter(|(_, line)| !line.starts_with('#') && !line.trim().is_empty());
    let Some((_, header)) = lines.next() else {
        return Err(BillFileError::NoHeader(KIND));
    };
    let header: Vec<String> = cells(header).map(normalise).collect();
    let mut at = [0; COLUMNS.len()];
    for (slot, name) in at.iter_mut().zip(COLUMNS) {
        *slot = header
            .iter()
            .position(|h| h == name)
            .ok_or(BillFileError::NoHeader(name))?;
    }
    lines
        .map(|(number, line)| {
            let row: Vec<&str> = cells(line).collect();
            if row.len() != header.len() {
                return Err(bad(
                    number,
                    format!("{} cells under {} columns", row.len(), header.len()),
                ));
            }
            let get = |column: usize| row[at[column]];
            line_of(get(0), get(1), get(2), get(3), get(4), get(5)).map_err(|r| bad(number, r))
        })
        .collect()
}

fn bad(line: usize, reason: String) -> BillFileError {
    BillFileError::BadRow { line, reason }
}

/// Values are padded with a tab (and sometimes spaces): stripped.
fn cells(line: &str) -> impl Iterator<Item = &str> {
    line.split(',')
        .map(|c| c.trim_matches(|c: char| c == '\t' || c == ' '))
}

/// Header names as Alipay writes them, with full-width parentheses; some exports
/// write them in ASCII.
fn normalise(name: &str) -> String {
    name.trim_start_matches('\u{feff}')
        .replace('(', "（")
        .replace(')', "）")
}

fn line_of(
    trade_no: &str,
    out_trade_no: &str,
    kind: &str,
    finished: &str,
    amount: &str,
    request_no: &str,
) -> Result<BillLine, String> {
    let kind = match kind {
        "交易" => BillLineKind::Payment,
        "退款" => BillLineKind::Refund,
        other => return Err(format!("业务类型 {other:?} is neither 交易 nor 退款")),
    };
    if trade_no.is_empty() || out_trade_no.is_empty() {
        return Err("支付宝交易号 or 商户订单号 is empty".into());
    }
    // Refunds are negative in the file; the kind carries the direction instead.
    let (negative, digits) = match amount.strip_prefix('-') {
        Some(digits) => (true, digits),
        None => (false, amount),
    };
    if negative != (kind == BillLineKind::Refund) {
        return Err(format!(
            "订单金额 {amount:?} has the wrong sign for its 业务类型"
        ));
    }
    let amount = Amount::parse(digits).map_err(|e| format!("订单金额 {amount:?}: {e}"))?;
    let finished_at = beijing::parse(finished)
        .ok_or_else(|| format!("完成时间 {finished:?} is not yyyy-MM-dd HH:mm:ss"))?;
    let out_request_no =
        (kind == BillLineKind::Refund && !request_no.is_empty()).then(|| request_no.to_owned());
    Ok(BillLine {
        kind,
        out_trade_no: out_trade_no.to_owned(),
        trade_no: trade_no.to_owned(),
        out_request_no,
        amount,
        finished_at,
    })
}
