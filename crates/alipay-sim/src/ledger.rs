//! The simulator's books: trades and refunds, kept by Alipay's rules (PROTOCOL.md A7, C).
//!
//! Plain data and rules, no IO, so every rule is tested directly. Methods that change
//! a trade return the [`Event`]s Alipay would notify the merchant about.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::error::AlipayError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TradeStatus {
    WaitBuyerPay,
    TradeSuccess,
    TradeClosed,
    TradeFinished,
}

impl TradeStatus {
    pub fn as_wire(self) -> &'static str {
        match self {
            Self::WaitBuyerPay => "WAIT_BUYER_PAY",
            Self::TradeSuccess => "TRADE_SUCCESS",
            Self::TradeClosed => "TRADE_CLOSED",
            Self::TradeFinished => "TRADE_FINISHED",
        }
    }
}

/// Which product created the trade.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Product {
    Page,
    Wap,
    App,
    Precreate,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trade {
    pub out_trade_no: String,
    pub trade_no: String,
    pub subject: String,
    pub body: Option<String>,
    pub total_fen: i64,
    pub product: Product,
    pub status: TradeStatus,
    pub notify_url: Option<String>,
    pub return_url: Option<String>,
    pub quit_url: Option<String>,
    /// Alipay answers ACQ.TRADE_NOT_EXIST for a page/precreate trade until the buyer
    /// opens the cashier or scans the code (PROTOCOL.md A7).
    pub seen_by_buyer: bool,
    pub created_at: DateTime<Utc>,
    pub time_expire: Option<DateTime<Utc>>,
    pub paid_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub buyer_id: Option<String>,
    pub buyer_logon_id: Option<String>,
    pub refunded_fen: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimRefund {
    pub trade_no: String,
    pub out_trade_no: String,
    pub out_request_no: String,
    pub amount_fen: i64,
    pub reason: Option<String>,
    pub refunded_at: DateTime<Utc>,
    /// The legacy mapi batch that carried it, if any.
    pub batch_no: Option<String>,
    /// How often it was asked for again and answered without moving money (a
    /// merchant's retry under the same out_request_no).
    #[serde(default)]
    pub repeats: u32,
}

/// What Alipay tells the merchant about (a notification each).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Paid(Trade),
    Closed(Trade),
    Finished(Trade),
    Refunded { trade: Trade, refund: SimRefund },
}

/// A trade a merchant asks for (page/wap/app pay, precreate).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTrade {
    pub out_trade_no: String,
    pub subject: String,
    pub body: Option<String>,
    pub total_fen: i64,
    pub product: Product,
    pub notify_url: Option<String>,
    pub return_url: Option<String>,
    pub quit_url: Option<String>,
    pub time_expire: Option<DateTime<Utc>>,
    pub seen_by_buyer: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundAsk {
    pub out_trade_no: Option<String>,
    pub trade_no: Option<String>,
    pub amount_fen: i64,
    /// Alipay uses out_trade_no when absent, and then wants the full amount.
    pub out_request_no: Option<String>,
    pub reason: Option<String>,
    pub batch_no: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundDone {
    /// `false` for a repeat of a refund already made under this out_request_no.
    pub fund_change: bool,
    pub trade: Trade,
    pub refund: SimRefund,
}

impl RefundDone {
    /// The notification a refund causes: none for a repeat that moved no money.
    pub fn event(&self) -> Option<Event> {
        self.fund_change.then(|| Event::Refunded {
            trade: self.trade.clone(),
            refund: self.refund.clone(),
        })
    }
}

/// The simulator's whole state; serialisable for the demo's state file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ledger {
    pub trades: Vec<Trade>,
    pub refunds: Vec<SimRefund>,
    /// Legacy mapi batch numbers already used (DUPLICATE_BATCH_NO).
    pub batch_nos: Vec<String>,
    /// Counter behind every generated id, so runs are reproducible.
    pub sequence: u64,
    /// Legacy mapi `refund_fastpay_by_platform_pwd` batches waiting for the operator's
    /// payment password (PROTOCOL.md B3).
    #[serde(default)]
    pub pending_mapi_batches: Vec<PendingMapiBatch>,
}

pub const MAX_FEN: i64 = 10_000_000_000;

fn valid_out_trade_no(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl Ledger {
    fn next(&mut self) -> u64 {
        self.sequence += 1;
        self.sequence
    }

    fn index(&self, out_trade_no: Option<&str>, trade_no: Option<&str>) -> Option<usize> {
        // If both are given, trade_no wins (PROTOCOL.md A7).
        match (trade_no, out_trade_no) {
            (Some(t), _) => self.trades.iter().position(|x| x.trade_no == t),
            (None, Some(o)) => self.trades.iter().position(|x| x.out_trade_no == o),
            (None, None) => None,
        }
    }

    pub fn trade(&self, out_trade_no: &str) -> Option<&Trade> {
        self.trades.iter().find(|t| t.out_trade_no == out_trade_no)
    }

    pub fn by_trade_no(&self, trade_no: &str) -> Option<&Trade> {
        self.trades.iter().find(|t| t.trade_no == trade_no)
    }

    /// Creates the trade, or returns the existing one for the same key data.
    ///
    /// # Errors
    /// ACQ.INVALID_PARAMETER, ACQ.TOTAL_FEE_EXCEED, ACQ.CONTEXT_INCONSISTENT,
    /// ACQ.TRADE_HAS_SUCCESS, ACQ.TRADE_HAS_CLOSE.
    pub fn open_trade(&mut self, new: NewTrade, now: DateTime<Utc>) -> Result<Trade, AlipayError> {
        if !valid_out_trade_no(&new.out_trade_no) {
            return Err(AlipayError::business(
                "ACQ.INVALID_PARAMETER",
                "out_trade_no is invalid",
            ));
        }
        if new.subject.trim().is_empty() {
            return Err(AlipayError::business(
                "ACQ.INVALID_PARAMETER",
                "subject is required",
            ));
        }
        if !(1..=MAX_FEN).contains(&new.total_fen) {
            return Err(AlipayError::business(
                "ACQ.TOTAL_FEE_EXCEED",
                "total_amount out of range",
            ));
        }
        if let Some(i) = self.index(Some(&new.out_trade_no), None) {
            let trade = &mut self.trades[i];
            match trade.status {
                TradeStatus::TradeSuccess | TradeStatus::TradeFinished => {
                    return Err(AlipayError::business(
                        "ACQ.TRADE_HAS_SUCCESS",
                        "trade already paid",
                    ))
                }
                TradeStatus::TradeClosed => {
                    return Err(AlipayError::business(
                        "ACQ.TRADE_HAS_CLOSE",
                        "trade is closed",
                    ))
                }
                TradeStatus::WaitBuyerPay => {}
            }
            if trade.total_fen != new.total_fen || trade.subject != new.subject {
                return Err(AlipayError::business(
                    "ACQ.CONTEXT_INCONSISTENT",
                    "out_trade_no was used with other data",
                ));
            }
            trade.seen_by_buyer |= new.seen_by_buyer;
            return Ok(trade.clone());
        }
        let n = self.next();
        let trade = Trade {
            trade_no: format!("{}22001{:015}", now.format("%Y%m%d"), n),
            out_trade_no: new.out_trade_no,
            subject: new.subject,
            body: new.body,
            total_fen: new.total_fen,
            product: new.product,
            status: TradeStatus::WaitBuyerPay,
            notify_url: new.notify_url,
            return_url: new.return_url,
            quit_url: new.quit_url,
            seen_by_buyer: new.seen_by_buyer,
            created_at: now,
            time_expire: new.time_expire,
            paid_at: None,
            closed_at: None,
            buyer_id: None,
            buyer_logon_id: None,
            refunded_fen: 0,
        };
        self.trades.push(trade.clone());
        Ok(trade)
    }

    /// Time passing: unpaid trades expire (TRADE_CLOSED), paid ones leave the refund
    /// window (TRADE_FINISHED).
    pub fn tick(&mut self, now: DateTime<Utc>, refund_window: Duration) -> Vec<Event> {
        let mut events = Vec::new();
        for trade in &mut self.trades {
            match trade.status {
                TradeStatus::WaitBuyerPay if trade.time_expire.is_some_and(|t| now >= t) => {
                    trade.status = TradeStatus::TradeClosed;
                    trade.closed_at = Some(now);
                    events.push(Event::Closed(trade.clone()));
                }
                TradeStatus::TradeSuccess
                    if trade.paid_at.is_some_and(|p| now > p + refund_window) =>
                {
                    trade.status = TradeStatus::TradeFinished;
                    events.push(Event::Finished(trade.clone()));
                }
                _ => {}
            }
        }
        events
    }

    /// The buyer opened the cashier or scanned the code.
    pub fn seen(&mut self, out_trade_no: &str) -> Option<Trade> {
        let i = self.index(Some(out_trade_no), None)?;
        self.trades[i].seen_by_buyer = true;
        Some(self.trades[i].clone())
    }

    /// What `alipay.trade.query` may show.
    ///
    /// # Errors
    /// ACQ.TRADE_NOT_EXIST, also for trades the buyer has not opened yet.
    pub fn visible(
        &self,
        out_trade_no: Option<&str>,
        trade_no: Option<&str>,
    ) -> Result<&Trade, AlipayError> {
        self.index(out_trade_no, trade_no)
            .map(|i| &self.trades[i])
            .filter(|t| t.seen_by_buyer)
            .ok_or_else(not_exist)
    }

    /// The buyer pays.
    ///
    /// # Errors
    /// ACQ.TRADE_NOT_EXIST; ACQ.TRADE_STATUS_ERROR unless waiting for payment.
    pub fn pay(&mut self, out_trade_no: &str, now: DateTime<Utc>) -> Result<Event, AlipayError> {
        let i = self.index(Some(out_trade_no), None).ok_or_else(not_exist)?;
        if self.trades[i].status != TradeStatus::WaitBuyerPay {
            return Err(AlipayError::business(
                "ACQ.TRADE_STATUS_ERROR",
                "trade is not waiting for payment",
            ));
        }
        let n = self.next();
        let trade = &mut self.trades[i];
        trade.status = TradeStatus::TradeSuccess;
        trade.seen_by_buyer = true;
        trade.paid_at = Some(now);
        trade.buyer_id = Some(format!("2088102{:09}", n % 1_000_000_000));
        trade.buyer_logon_id = Some(format!("buy***@{n}.example"));
        Ok(Event::Paid(trade.clone()))
    }

    /// `alipay.trade.close`, or the buyer cancelling: only unpaid trades close.
    ///
    /// # Errors
    /// ACQ.TRADE_NOT_EXIST; ACQ.TRADE_STATUS_ERROR for paid trades.
    pub fn close(
        &mut self,
        out_trade_no: Option<&str>,
        trade_no: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Option<Event>, AlipayError> {
        let i = self.index(out_trade_no, trade_no).ok_or_else(not_exist)?;
        let trade = &mut self.trades[i];
        match trade.status {
            TradeStatus::WaitBuyerPay => {
                trade.status = TradeStatus::TradeClosed;
                trade.closed_at = Some(now);
                Ok(Some(Event::Closed(trade.clone())))
            }
            TradeStatus::TradeClosed if trade.paid_at.is_none() => Ok(None),
            _ => Err(AlipayError::business(
                "ACQ.TRADE_STATUS_ERROR",
                "trade cannot be closed",
            )),
        }
    }

    /// `alipay.trade.refund` (and each line of a mapi batch).
    ///
    /// # Errors
    /// The sub_codes of PROTOCOL.md A7's table.
    pub fn refund(
        &mut self,
        ask: RefundAsk,
        now: DateTime<Utc>,
    ) -> Result<RefundDone, AlipayError> {
        let i = self
            .index(ask.out_trade_no.as_deref(), ask.trade_no.as_deref())
            .ok_or_else(not_exist)?;
        if !(1..=MAX_FEN).contains(&ask.amount_fen) {
            return Err(AlipayError::business(
                "ACQ.INVALID_PARAMETER",
                "refund_amount out of range",
            ));
        }
        let trade = self.trades[i].clone();
        let out_request_no = ask
            .out_request_no
            .clone()
            .unwrap_or_else(|| trade.out_trade_no.clone());
        if let Some(done) = self
            .refunds
            .iter_mut()
            .find(|r| r.trade_no == trade.trade_no && r.out_request_no == out_request_no)
        {
            return if done.amount_fen == ask.amount_fen {
                done.repeats += 1;
                Ok(RefundDone {
                    fund_change: false,
                    trade,
                    refund: done.clone(),
                })
            } else {
                Err(AlipayError::business(
                    "ACQ.DISCORDANT_REPEAT_REQUEST",
                    "out_request_no was used with another amount",
                ))
            };
        }
        match trade.status {
            TradeStatus::TradeSuccess => {}
            TradeStatus::TradeFinished => {
                return Err(AlipayError::business(
                    "ACQ.TRADE_HAS_FINISHED",
                    "trade is finished",
                ))
            }
            TradeStatus::WaitBuyerPay | TradeStatus::TradeClosed => {
                return Err(AlipayError::business(
                    "ACQ.TRADE_STATUS_ERROR",
                    "trade is unpaid or closed",
                ))
            }
        }
        if ask.out_request_no.is_none() && ask.amount_fen != trade.total_fen {
            return Err(AlipayError::business(
                "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL",
                "without out_request_no only the full amount can be refunded",
            ));
        }
        if ask.amount_fen > trade.total_fen - trade.refunded_fen {
            return Err(AlipayError::business(
                "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL",
                "refund_amount exceeds what is left",
            ));
        }
        let refund = SimRefund {
            trade_no: trade.trade_no.clone(),
            out_trade_no: trade.out_trade_no.clone(),
            out_request_no,
            amount_fen: ask.amount_fen,
            reason: ask.reason,
            refunded_at: now,
            batch_no: ask.batch_no,
            repeats: 0,
        };
        let trade = &mut self.trades[i];
        trade.refunded_fen += ask.amount_fen;
        if trade.refunded_fen == trade.total_fen {
            // A full refund closes the trade (PROTOCOL.md A5).
            trade.status = TradeStatus::TradeClosed;
            trade.closed_at = Some(now);
        }
        let trade = trade.clone();
        self.refunds.push(refund.clone());
        Ok(RefundDone {
            fund_change: true,
            trade,
            refund,
        })
    }

    /// `alipay.trade.fastpay.refund.query`.
    ///
    /// # Errors
    /// ACQ.TRADE_NOT_EXIST.
    pub fn refund_query(
        &self,
        out_trade_no: Option<&str>,
        trade_no: Option<&str>,
        out_request_no: &str,
    ) -> Result<(&Trade, Option<&SimRefund>), AlipayError> {
        let trade = self.visible(out_trade_no, trade_no)?;
        let refund = self
            .refunds
            .iter()
            .find(|r| r.trade_no == trade.trade_no && r.out_request_no == out_request_no);
        Ok((trade, refund))
    }
}

fn not_exist() -> AlipayError {
    AlipayError::business("ACQ.TRADE_NOT_EXIST", "交易不存在")
}

#[cfg(test)]
mod tests;

/// One record of a legacy mapi refund batch: `trade_no^amount^reason` (PROTOCOL.md B3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MapiRecord {
    pub trade_no: String,
    pub amount_fen: i64,
    pub reason: String,
}

/// A `refund_fastpay_by_platform_pwd` batch the gateway accepted, waiting for the
/// operator to confirm it with the payment password (PROTOCOL.md B3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingMapiBatch {
    pub batch_no: String,
    /// Where `batch_refund_notify` goes once the batch is confirmed.
    pub notify_url: Option<String>,
    pub records: Vec<MapiRecord>,
    pub received_at: DateTime<Utc>,
}

impl Ledger {
    /// Takes `batch_no` for a legacy mapi batch: `false` when it was used before
    /// (DUPLICATE_BATCH_NO; batch numbers are unique per partner, PROTOCOL.md B3/C).
    pub fn use_mapi_batch_no(&mut self, batch_no: &str) -> bool {
        if self.batch_nos.iter().any(|b| b == batch_no) {
            return false;
        }
        self.batch_nos.push(batch_no.to_owned());
        true
    }

    /// Keeps a pwd batch until the operator confirms it.
    pub fn hold_mapi_batch(&mut self, batch: PendingMapiBatch) {
        self.pending_mapi_batches.push(batch);
    }

    pub fn pending_mapi_batch(&self, batch_no: &str) -> Option<&PendingMapiBatch> {
        self.pending_mapi_batches
            .iter()
            .find(|b| b.batch_no == batch_no)
    }

    /// Removes a pending pwd batch to carry it out: a batch is confirmed at most once.
    pub fn take_mapi_batch(&mut self, batch_no: &str) -> Option<PendingMapiBatch> {
        let i = self
            .pending_mapi_batches
            .iter()
            .position(|b| b.batch_no == batch_no)?;
        Some(self.pending_mapi_batches.remove(i))
    }
}
