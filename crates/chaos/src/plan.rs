//! What the shop asks for: per order, several refunds whose amounts add up to more than
//! the order's total (so some must be refused), plus retries of some of them under the
//! same `Idempotency-Key` or the same `out_request_no`; all shuffled together.

use rand::rngs::SmallRng;
use rand::seq::SliceRandom;
use rand::Rng;

/// Every order's total, in fen.
pub const TOTAL_FEN: i64 = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A refund of its own.
    First,
    /// A retry of one, with its key and body.
    SameKey,
    /// A retry of one, with its out_request_no and amount under another key.
    SameOutRequestNo,
}

#[derive(Debug, Clone)]
pub struct Attempt {
    pub order: usize,
    pub out_trade_no: String,
    pub kind: Kind,
    pub key: String,
    /// The request body (amount, and out_request_no when the shop picks it).
    pub body: String,
    pub amount_fen: i64,
    pub out_request_no: Option<String>,
}

/// Yuan text of whole fen: `243` is `"2.43"`.
pub fn yuan(fen: i64) -> String {
    format!("{}.{:02}", fen / 100, fen % 100)
}

/// `attempts` refund attempts over `orders` orders, shuffled.
pub fn plan(run: &str, orders: usize, attempts: usize, rng: &mut SmallRng) -> Vec<Attempt> {
    let mut all = Vec::with_capacity(attempts);
    for order in 0..orders {
        // Spread the attempts evenly; the first orders take the remainder.
        let k = attempts / orders + usize::from(order < attempts % orders);
        all.extend(order_attempts(run, order, k, rng));
    }
    all.shuffle(rng);
    all
}

/// `k` attempts on one order: about 7 in 10 distinct refunds, the rest retries.
fn order_attempts(run: &str, order: usize, k: usize, rng: &mut SmallRng) -> Vec<Attempt> {
    let out_trade_no = order_no(run, order);
    let distinct = (k * 7 / 10).clamp(2.min(k), k);
    // Each at least a `distinct`-th of the total and a fen more: together they exceed it.
    let least = TOTAL_FEN / distinct.max(1) as i64 + 1;
    let mut firsts = Vec::with_capacity(k);
    for j in 0..distinct {
        let amount_fen = rng.random_range(least..=(2 * least).min(TOTAL_FEN));
        // Every other refund names its own out_request_no; the rest get one derived
        // from the key.
        let out_request_no = (j % 2 == 0).then(|| format!("c{run}o{order}r{j}"));
        let body = match &out_request_no {
            Some(no) => format!(
                r#"{{"amount":"{}","out_request_no":"{no}"}}"#,
                yuan(amount_fen)
            ),
            None => format!(r#"{{"amount":"{}"}}"#, yuan(amount_fen)),
        };
        firsts.push(Attempt {
            order,
            out_trade_no: out_trade_no.clone(),
            kind: Kind::First,
            key: format!("k{run}o{order}r{j}"),
            body,
            amount_fen,
            out_request_no,
        });
    }
    let mut all = firsts.clone();
    for n in 0..k - distinct {
        let of = &firsts[rng.random_range(0..firsts.len())];
        let retry = if of.out_request_no.is_some() && rng.random_bool(0.5) {
            Attempt {
                kind: Kind::SameOutRequestNo,
                key: format!("{}again{n}", of.key),
                ..of.clone()
            }
        } else {
            Attempt {
                kind: Kind::SameKey,
                ..of.clone()
            }
        };
        all.push(retry);
    }
    all
}

pub fn order_no(run: &str, order: usize) -> String {
    format!("chaos{run}n{order}")
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn every_order_is_asked_for_more_than_its_total_with_retries_of_both_kinds() {
        let mut rng = SmallRng::seed_from_u64(7);
        let all = plan("t", 20, 200, &mut rng);
        assert_eq!(all.len(), 200);
        for order in 0..20 {
            let mine: Vec<_> = all.iter().filter(|a| a.order == order).collect();
            assert_eq!(mine.len(), 10);
            let asked: i64 = mine
                .iter()
                .filter(|a| a.kind == Kind::First)
                .map(|a| a.amount_fen)
                .sum();
            assert!(asked > TOTAL_FEN, "order {order} asks {asked}");
        }
        assert!(all.iter().any(|a| a.kind == Kind::SameKey));
        assert!(all.iter().any(|a| a.kind == Kind::SameOutRequestNo));
    }

    #[test]
    fn amounts_are_yuan_text() {
        assert_eq!(yuan(243), "2.43");
        assert_eq!(yuan(1000), "10.00");
        assert_eq!(yuan(5), "0.05");
    }
}
