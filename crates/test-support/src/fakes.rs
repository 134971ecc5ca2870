//! The clock and the exchange log the adapters' tests hand to their gateways.

use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use payport_domain::ports::{Clock, ExchangeLog, GatewayExchange};
use payport_domain::RepoError;

use crate::lock;

/// A clock stopped at one instant, so signed requests and logs are reproducible.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedClock(pub DateTime<Utc>);

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

/// Keeps every exchange, in the order recorded, for assertions.
#[derive(Debug, Default)]
pub struct MemoryLog(pub Mutex<Vec<GatewayExchange>>);

impl MemoryLog {
    pub fn all(&self) -> Vec<GatewayExchange> {
        lock(&self.0).clone()
    }

    /// The exchanges about one order, as `DieselStore::exchanges_for_order` returns them.
    pub fn for_order(&self, out_trade_no: &str) -> Vec<GatewayExchange> {
        lock(&self.0)
            .iter()
            .filter(|e| e.out_trade_no.as_deref() == Some(out_trade_no))
            .cloned()
            .collect()
    }
}

#[async_trait]
impl ExchangeLog for MemoryLog {
    async fn record(&self, exchange: &GatewayExchange) -> Result<(), RepoError> {
        lock(&self.0).push(exchange.clone());
        Ok(())
    }
}
