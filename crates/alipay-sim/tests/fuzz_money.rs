//! Fuzzing the simulator's own amount code, on stable Rust with proptest.
//!
//! The simulator reads merchants' amounts with code of its own (so that a money bug in
//! payport meets different code here). It must never panic, must print what it parses
//! back to the same fen, and must agree with `payport_domain::Amount` on every text: the
//! two were written apart, so a disagreement is a bug in one of them.
//!
//! Cases: `PROPTEST_CASES` (proptest's default, 256, when unset).

use payport_alipay_sim::money::{format_fen, parse_fen, MAX_FEN};
use payport_domain::Amount;
use proptest::prelude::*;

fn near_amount() -> impl Strategy<Value = String> {
    prop_oneof![
        "(0|[1-9][0-9]{0,11})(\\.[0-9]{0,3})?",
        "[0-9]{0,12}(\\.[0-9]{0,3})?",
        "[-+ ]?[0-9]{1,10}(\\.[0-9]{1,3})?[eE ]?[0-9]?",
        "[0-9.+\\-eE ,_]{0,14}",
        "[0-9０-９٠-٩.．]{1,8}",
    ]
}

fn agrees_with_the_domain(text: &str) {
    let sim = parse_fen(text);
    let domain = Amount::parse(text).ok().map(Amount::fen);
    assert_eq!(sim, domain, "simulator and domain disagree on {text:?}");
    if let Some(fen) = sim {
        assert!((1..=MAX_FEN).contains(&fen), "{text:?} -> {fen}");
        assert_eq!(parse_fen(&format_fen(fen)), Some(fen), "{text:?}");
    }
}

proptest! {
    #[test]
    fn fuzz_sim_parse_fen_any_text(text in any::<String>()) {
        agrees_with_the_domain(&text);
    }

    #[test]
    fn fuzz_sim_parse_fen_near_amounts(text in near_amount()) {
        agrees_with_the_domain(&text);
    }

    #[test]
    fn fuzz_sim_format_then_parse_round_trips(fen in any::<i64>()) {
        let text = format_fen(fen);
        if (1..=MAX_FEN).contains(&fen) {
            prop_assert_eq!(parse_fen(&text), Some(fen));
            let domain = Amount::from_fen(fen).expect("in range").to_string();
            prop_assert_eq!(&text, &domain, "both write Alipay's format");
        } else if fen == 0 {
            prop_assert_eq!(text.as_str(), "0.00");
            prop_assert_eq!(parse_fen(&text), None, "a merchant cannot ask for 0.00");
        } else {
            prop_assert_eq!(text.as_str(), "", "never a number Alipay would not send");
        }
    }
}
