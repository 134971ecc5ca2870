//! The trade bill file (PROTOCOL.md A10): a zip of two GBK CSV files, the detail
//! (one row per payment and per refund) and the summary, laid out as Alipay does.

use std::io::Write;

use chrono::{DateTime, Days, NaiveDate, Utc};
use zip::write::SimpleFileOptions;

use crate::ledger::Ledger;
use crate::notify::{beijing, fen, time};

/// The detail file's 25 columns, in Alipay's order and spelling.
pub const DETAIL_HEADER: [&str; 25] = [
    "支付宝交易号",
    "商户订单号",
    "业务类型",
    "商品名称",
    "创建时间",
    "完成时间",
    "门店编号",
    "门店名称",
    "操作员",
    "终端号",
    "对方账户",
    "订单金额（元）",
    "商家实收（元）",
    "支付宝红包（元）",
    "集分宝（元）",
    "支付宝优惠（元）",
    "商家优惠（元）",
    "券核销金额（元）",
    "券名称",
    "商家红包消费金额（元）",
    "卡消费金额（元）",
    "退款批次号/请求号",
    "服务费（元）",
    "分润（元）",
    "备注",
];

/// The Beijing days a bill covers: `[first, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BillPeriod {
    pub first: NaiveDate,
    pub end: NaiveDate,
}

impl BillPeriod {
    /// `yyyy-MM-dd` (a day) or `yyyy-MM` (a month), as `bill_date` is sent.
    pub fn parse(bill_date: &str) -> Option<BillPeriod> {
        if bill_date.len() == 10 {
            let first = NaiveDate::parse_from_str(bill_date, "%Y-%m-%d").ok()?;
            return Some(BillPeriod {
                first,
                end: first.checked_add_days(Days::new(1))?,
            });
        }
        let first = NaiveDate::parse_from_str(&format!("{bill_date}-01"), "%Y-%m-%d").ok()?;
        let end = first.checked_add_months(chrono::Months::new(1))?;
        (bill_date.len() == 7).then_some(BillPeriod { first, end })
    }

    /// Ready once the period is over in Beijing; Alipay answers `isp.bill_not_exist`
    /// before, and an empty bill for a past period without trades.
    pub fn is_ready(&self, now: DateTime<Utc>) -> bool {
        now.with_timezone(&beijing()).date_naive() >= self.end
    }

    fn contains(&self, at: DateTime<Utc>) -> bool {
        let day = at.with_timezone(&beijing()).date_naive();
        self.first <= day && day < self.end
    }

    /// `20240115` for a day, `202401` for a month: the files' names carry it.
    pub fn stamp(&self) -> String {
        if (self.end - self.first).num_days() == 1 {
            self.first.format("%Y%m%d").to_string()
        } else {
            self.first.format("%Y%m").to_string()
        }
    }
}

/// One detail row, before formatting. Amounts are signed: refunds are negative.
struct Row {
    cells: [String; 25],
    fen: i64,
    refund: bool,
}

fn row(trade_no: &str, out_trade_no: &str, kind: &str, subject: &str) -> [String; 25] {
    let mut cells: [String; 25] = Default::default();
    cells[0] = trade_no.to_owned();
    cells[1] = out_trade_no.to_owned();
    cells[2] = kind.to_owned();
    cells[3] = subject.replace([',', '\n', '\r'], " ");
    for i in [13, 14, 15, 16, 17, 19, 20, 22, 23] {
        cells[i] = "0.00".to_owned();
    }
    cells
}

fn rows(ledger: &Ledger, period: BillPeriod) -> Vec<Row> {
    let mut out: Vec<(DateTime<Utc>, Row)> = Vec::new();
    for t in &ledger.trades {
        let Some(paid_at) = t.paid_at.filter(|p| period.contains(*p)) else {
            continue;
        };
        let mut cells = row(&t.trade_no, &t.out_trade_no, "交易", &t.subject);
        cells[4] = time(t.created_at);
        cells[5] = time(paid_at);
        cells[10] = t.buyer_logon_id.clone().unwrap_or_default();
        cells[11] = fen(t.total_fen);
        cells[12] = fen(t.total_fen);
        let row = Row {
            cells,
            fen: t.total_fen,
            refund: false,
        };
        out.push((paid_at, row));
    }
    for r in ledger
        .refunds
        .iter()
        .filter(|r| period.contains(r.refunded_at))
    {
        let trade = ledger.by_trade_no(&r.trade_no);
        let subject = trade.map(|t| t.subject.as_str()).unwrap_or_default();
        let mut cells = row(&r.trade_no, &r.out_trade_no, "退款", subject);
        cells[4] = trade.map(|t| time(t.created_at)).unwrap_or_default();
        cells[5] = time(r.refunded_at);
        cells[10] = trade
            .and_then(|t| t.buyer_logon_id.clone())
            .unwrap_or_default();
        cells[11] = signed(-r.amount_fen);
        cells[12] = signed(-r.amount_fen);
        // A legacy mapi refund is known by its batch (PROTOCOL.md A10).
        cells[21] = r
            .batch_no
            .clone()
            .unwrap_or_else(|| r.out_request_no.clone());
        let row = Row {
            cells,
            fen: r.amount_fen,
            refund: true,
        };
        out.push((r.refunded_at, row));
    }
    out.sort_by_key(|(at, _)| *at);
    out.into_iter().map(|(_, row)| row).collect()
}

/// Refunds and net totals can be negative in the bill, unlike any amount on the wire.
fn signed(fen_amount: i64) -> String {
    if fen_amount < 0 {
        format!("-{}", fen(-fen_amount))
    } else {
        fen(fen_amount)
    }
}

/// `2024年01月15日 00:00:00`: the file's own way to write a time (PROTOCOL.md D).
fn cn_time(at: DateTime<Utc>) -> String {
    at.with_timezone(&beijing())
        .format("%Y年%m月%d日 %H:%M:%S")
        .to_string()
}

fn cn_day(day: NaiveDate) -> String {
    day.format("%Y年%m月%d日 00:00:00").to_string()
}

/// Every value is followed by a tab, as Alipay pads them (so spreadsheets keep the
/// long ids as text).
fn csv_line(cells: &[String]) -> String {
    let padded: Vec<String> = cells.iter().map(|c| format!("{c}\t")).collect();
    padded.join(",")
}

fn preamble(what: &str, pid: &str, period: BillPeriod) -> String {
    format!(
        "#支付宝{what}查询\r\n#账号：[{pid}]\r\n#起始日期：[{}]   终止日期：[{}]\r\n",
        cn_day(period.first),
        cn_day(period.end)
    )
}

fn detail(pid: &str, period: BillPeriod, rows: &[Row], now: DateTime<Utc>) -> String {
    let mut out = preamble("业务明细", pid, period);
    out.push_str(
        "#-----------------------------------------业务明细列表----------------------------------------\r\n",
    );
    out.push_str(&DETAIL_HEADER.join(","));
    out.push_str("\r\n");
    for row in rows {
        out.push_str(&csv_line(&row.cells));
        out.push_str("\r\n");
    }
    out.push_str(
        "#-----------------------------------------业务明细列表结束------------------------------------\r\n",
    );
    let (paid, refunded) = totals(rows);
    out.push_str(&format!(
        "#交易合计：{}笔，商家实收共{}元，商家优惠共0.00元\r\n",
        paid.0,
        fen(paid.1)
    ));
    out.push_str(&format!(
        "#退款合计：{}笔，商家实收退款共{}元，商家优惠退款共0.00元\r\n",
        refunded.0,
        signed(-refunded.1)
    ));
    out.push_str(&format!("#导出时间：[{}]\r\n", cn_time(now)));
    out
}

/// (count, fen) of payments and of refunds.
fn totals(rows: &[Row]) -> ((usize, i64), (usize, i64)) {
    let sum = |refund: bool| {
        let picked = rows.iter().filter(|r| r.refund == refund);
        (picked.clone().count(), picked.map(|r| r.fen).sum())
    };
    (sum(false), sum(true))
}

fn summary(pid: &str, period: BillPeriod, rows: &[Row], now: DateTime<Utc>) -> String {
    let (paid, refunded) = totals(rows);
    let net = signed(paid.1 - refunded.1);
    let mut out = preamble("业务汇总", pid, period);
    out.push_str(
        "#-----------------------------------------业务汇总列表----------------------------------------\r\n",
    );
    out.push_str("门店编号,门店名称,交易订单总笔数,退款订单总笔数,订单金额（元）,商家实收（元）,支付宝优惠（元）,商家优惠（元）,卡消费金额（元）,服务费（元）,分润（元）,实收净额（元）\r\n");
    let cells: Vec<String> = [
        "合计",
        "",
        &paid.0.to_string(),
        &refunded.0.to_string(),
        &net,
        &net,
        "0.00",
        "0.00",
        "0.00",
        "0.00",
        "0.00",
        &net,
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    out.push_str(&csv_line(&cells));
    out.push_str("\r\n#-----------------------------------------业务汇总列表结束------------------------------------\r\n");
    out.push_str(&format!("#导出时间：[{}]\r\n", cn_time(now)));
    out
}

/// The zip's name: `{pid}_{yyyymmdd}.csv.zip`.
pub fn file_name(pid: &str, period: BillPeriod) -> String {
    format!("{pid}_{}.csv.zip", period.stamp())
}

/// The bill of `period` as Alipay serves it: a zip of the GBK detail and summary.
///
/// # Errors
/// Only if writing the zip in memory fails.
pub fn trade_bill_zip(
    ledger: &Ledger,
    pid: &str,
    period: BillPeriod,
    now: DateTime<Utc>,
) -> Result<Vec<u8>, String> {
    let rows = rows(ledger, period);
    let base = format!("{pid}_{}", period.stamp());
    let files = [
        (
            format!("{base}_业务明细.csv"),
            detail(pid, period, &rows, now),
        ),
        (
            format!("{base}_业务明细(汇总).csv"),
            summary(pid, period, &rows, now),
        ),
    ];
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, text) in files {
        let (gbk, _, _) = encoding_rs::GBK.encode(&text);
        zip.start_file(name, SimpleFileOptions::default())
            .map_err(|e| e.to_string())?;
        zip.write_all(&gbk).map_err(|e| e.to_string())?;
    }
    let cursor = zip.finish().map_err(|e| e.to_string())?;
    Ok(cursor.into_inner())
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::ledger::{NewTrade, Product, RefundAsk};

    fn read(zip: &[u8]) -> Vec<(String, String)> {
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).unwrap();
        (0..archive.len())
            .map(|i| {
                let mut file = archive.by_index(i).unwrap();
                let mut bytes = Vec::new();
                std::io::Read::read_to_end(&mut file, &mut bytes).unwrap();
                let text = encoding_rs::GBK
                    .decode_without_bom_handling_and_without_replacement(&bytes)
                    .unwrap()
                    .into_owned();
                (file.name().to_owned(), text)
            })
            .collect()
    }

    #[test]
    fn a_legacy_batch_refund_is_in_the_bill_under_its_batch_no() {
        // 23:30 UTC is already the next Beijing day.
        let now = Utc.with_ymd_and_hms(2026, 11, 20, 23, 30, 0).unwrap();
        let mut ledger = Ledger::default();
        ledger
            .open_trade(
                NewTrade {
                    out_trade_no: "m1".into(),
                    subject: "Tea, green".into(),
                    body: None,
                    total_fen: 1000,
                    product: Product::Page,
                    notify_url: None,
                    return_url: None,
                    quit_url: None,
                    time_expire: None,
                    seen_by_buyer: true,
                },
                now,
            )
            .unwrap();
        ledger.pay("m1", now).unwrap();
        let batch = "20261121000000000000000000001";
        ledger
            .refund(
                RefundAsk {
                    out_trade_no: None,
                    trade_no: Some(ledger.trade("m1").unwrap().trade_no.clone()),
                    amount_fen: 250,
                    out_request_no: Some(batch.into()),
                    reason: None,
                    batch_no: Some(batch.into()),
                },
                now,
            )
            .unwrap();
        let period = BillPeriod::parse("2026-11-21").unwrap();
        assert!(!period.is_ready(now));
        let files = read(&trade_bill_zip(&ledger, "2088000000000001", period, now).unwrap());
        assert_eq!(files[0].0, "2088000000000001_20261121_业务明细.csv");
        assert_eq!(files[1].0, "2088000000000001_20261121_业务明细(汇总).csv");
        let detail = &files[0].1;
        let refund = detail.lines().find(|l| l.contains("退款\t")).unwrap();
        assert!(refund.contains(&format!(",{batch}\t,")), "{refund}");
        assert!(refund.contains(",-2.50\t,-2.50\t,"), "{refund}");
        assert!(
            refund.contains(",Tea  green\t,"),
            "commas never split a cell: {refund}"
        );
        assert!(
            detail.contains("#交易合计：1笔，商家实收共10.00元"),
            "{detail}"
        );
        assert!(
            detail.contains("#退款合计：1笔，商家实收退款共-2.50元"),
            "{detail}"
        );
        assert!(
            files[1].1.contains("合计\t,\t,1\t,1\t,7.50\t"),
            "{}",
            files[1].1
        );
    }
}
