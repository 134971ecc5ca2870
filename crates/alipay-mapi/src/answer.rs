//! The nopwd service's synchronous answer (PROTOCOL.md B4), and what it means (C).
//!
//! The answer is unsigned XML: `<alipay><is_success>T</is_success></alipay>`, or
//! `F` with `<error>CODE</error>`. `T` means *accepted* only; the result of every
//! record arrives later in `batch_refund_notify`.
//!
//! | answer | outcome |
//! |---|---|
//! | `T`, no `<error>` | `Accepted { batch_no }` |
//! | `F` + a code from [`DEFINITE_REFUSALS`] | `Rejected` (code = the error code): the batch was refused before anything ran |
//! | `F` + `DUPLICATE_BATCH_NO`, batch sent for the first time | `Rejected`: the number was someone else's, this batch did not run |
//! | `F` + `DUPLICATE_BATCH_NO`, batch re-sent under its number | `Unknown`: Alipay already has this very batch, which may have refunded |
//! | `F` + `SYSTEM_ERROR` or any other code | `Unknown`: not known to mean "nothing ran" |
//! | `F` without a code, `T` with one, `P` (⚠ seen once), anything else | `Unknown` |
//! | not this XML, HTTP ≠ 200, timeout, connection error | `Unknown` |
//!
//! The XML is parsed with quick-xml, strictly: one `<alipay>` root, at most one
//! `is_success` and one `error`, text only inside them; unknown child elements (old
//! services echo `<request>`) are skipped whole.

use payport_domain::ports::RefundSubmitted;
use payport_domain::{BatchNo, GatewayError, GatewayFailure};
use quick_xml::events::Event;
use quick_xml::Reader;

/// The fields of the answer, as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncAnswer {
    pub is_success: String,
    pub error: Option<String>,
}

/// Error codes of B4's list (and of the same official table, via the simulator) that
/// Alipay returns after checking the request and the batch, before refunding anything.
pub const DEFINITE_REFUSALS: [&str; 19] = [
    "ILLEGAL_SIGN",
    "ILLEGAL_PARTNER",
    "ILLEGAL_SERVICE",
    "ILLEGAL_CHARSET",
    "ILLEGAL_SIGN_TYPE",
    "SELLER_INFO_NOT_EXIST",
    "DUPLICATE_BATCH_NO",
    "BATCH_NO_FORMAT_ERROR",
    "BATCH_NUM_ERROR",
    "BATCH_NUM_EXCEED_LIMIT",
    "BATCH_NUM_NOT_EQUAL_TOTAL",
    "REFUND_DATE_ERROR",
    "DETAIL_DATA_FORMAT_ERROR",
    "DUBL_TRADE_NO_IN_SAME_BATCH",
    "PWD_REFUND_NOT_ALLOW_ROYALTY",
    "TRADE_STATUS_ERROR",
    "REFUND_AMOUNT_NOT_VALID",
    "REASON_TRADE_REFUND_FEE_ERR",
    "TXN_RESULT_ACCOUNT_BALANCE_NOT_ENOUGH",
];

impl SyncAnswer {
    /// Parses the raw body.
    ///
    /// # Errors
    /// A one-sentence reason when the body is not the answer's XML.
    pub fn parse(body: &str) -> Result<SyncAnswer, String> {
        let mut reader = Reader::from_str(body);
        reader.config_mut().trim_text(true);
        let mut is_success: Option<String> = None;
        let mut error: Option<String> = None;
        let mut seen_root = false;
        loop {
            match reader.read_event().map_err(|e| format!("not XML: {e}"))? {
                Event::Decl(_) | Event::Comment(_) => {}
                Event::Start(root) if !seen_root && root.name().as_ref() == b"alipay" => {
                    seen_root = true;
                    read_children(&mut reader, &mut is_success, &mut error)?;
                }
                Event::Eof if seen_root => break,
                Event::Eof => return Err("no <alipay> element".into()),
                other => return Err(format!("unexpected {other:?} outside <alipay>")),
            }
        }
        Ok(SyncAnswer {
            is_success: is_success.ok_or("no <is_success> in <alipay>")?,
            error,
        })
    }

    /// The outcome table above. `resent` says whether `batch_no` had been sent before.
    ///
    /// # Errors
    /// `Rejected` or `Unknown` per the table.
    pub fn outcome(
        self,
        batch_no: &BatchNo,
        resent: bool,
    ) -> Result<RefundSubmitted, GatewayError> {
        let unknown = |why: String| Err(GatewayError::Unknown(format!("batch {batch_no}: {why}")));
        match (self.is_success.as_str(), self.error) {
            ("T", None) => Ok(RefundSubmitted::Accepted {
                batch_no: Some(batch_no.clone()),
            }),
            // Re-sent under the same number: Alipay has a batch with this number, and it
            // is ours. It may have refunded; only batch_refund_notify will tell.
            ("F", Some(code)) if code == "DUPLICATE_BATCH_NO" && resent => unknown(
                "DUPLICATE_BATCH_NO on a re-send: Alipay already has this batch; wait for its batch_refund_notify".into(),
            ),
            ("F", Some(code)) if DEFINITE_REFUSALS.contains(&code.as_str()) => {
                Err(GatewayError::Rejected(GatewayFailure {
                    message: format!("refund_fastpay_by_platform_nopwd refused batch {batch_no}"),
                    code,
                    sub_code: None,
                }))
            }
            ("F", Some(code)) => unknown(format!(
                "is_success=F with {code}, which is not known to mean that nothing was refunded"
            )),
            ("F", None) => unknown("is_success=F without an error code".into()),
            ("T", Some(code)) => unknown(format!("is_success=T with error {code}")),
            (other, _) => unknown(format!("is_success={other}")),
        }
    }
}

/// Reads `<alipay>`'s children up to its end tag.
fn read_children(
    reader: &mut Reader<&[u8]>,
    is_success: &mut Option<String>,
    error: &mut Option<String>,
) -> Result<(), String> {
    loop {
        match reader.read_event().map_err(|e| format!("not XML: {e}"))? {
            Event::Start(child) => {
                let slot = match child.name().as_ref() {
                    b"is_success" => &mut *is_success,
                    b"error" => &mut *error,
                    _ => {
                        reader
                            .read_to_end(child.name())
                            .map_err(|e| format!("not XML: {e}"))?;
                        continue;
                    }
                };
                let name = String::from_utf8_lossy(child.name().as_ref()).into_owned();
                if slot.is_some() {
                    return Err(format!("<{name}> appears twice"));
                }
                *slot = Some(read_text(reader, &name)?);
            }
            Event::Empty(child) => {
                let name = String::from_utf8_lossy(child.name().as_ref()).into_owned();
                if name == "is_success" || name == "error" {
                    return Err(format!("<{name}/> is empty"));
                }
            }
            Event::End(_) => return Ok(()),
            Event::Comment(_) => {}
            Event::Eof => return Err("<alipay> is not closed".into()),
            other => return Err(format!("unexpected {other:?} in <alipay>")),
        }
    }
}

/// The text of a leaf element, up to its end tag.
fn read_text(reader: &mut Reader<&[u8]>, name: &str) -> Result<String, String> {
    let mut text = String::new();
    loop {
        match reader.read_event().map_err(|e| format!("not XML: {e}"))? {
            Event::Text(t) => text.push_str(&t.decode().map_err(|e| format!("<{name}>: {e}"))?),
            Event::End(_) => break,
            other => return Err(format!("unexpected {other:?} in <{name}>")),
        }
    }
    if text.is_empty() {
        return Err(format!("<{name}> is empty"));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = r#"<?xml version="1.0" encoding="utf-8"?>"#;

    fn parse(body: &str) -> Result<SyncAnswer, String> {
        SyncAnswer::parse(body)
    }

    fn answer(s: &str, e: Option<&str>) -> SyncAnswer {
        SyncAnswer {
            is_success: s.into(),
            error: e.map(str::to_owned),
        }
    }

    #[test]
    fn parses_the_two_documented_shapes() {
        assert_eq!(
            parse(&format!(
                "{HEAD}<alipay><is_success>T</is_success></alipay>"
            )),
            Ok(answer("T", None))
        );
        assert_eq!(
            parse(&format!(
                "{HEAD}\n<alipay>\n  <is_success>F</is_success>\n  <error>DUPLICATE_BATCH_NO</error>\n</alipay>\n"
            )),
            Ok(answer("F", Some("DUPLICATE_BATCH_NO")))
        );
        // No declaration, an echoed <request> with nested elements: skipped.
        assert_eq!(
            parse("<alipay><request><param name=\"x\">1</param></request><is_success>P</is_success></alipay>"),
            Ok(answer("P", None))
        );
    }

    #[test]
    fn refuses_everything_else() {
        for bad in [
            "",
            "T",
            "<html><body>502 Bad Gateway</body></html>",
            "<alipay></alipay>",
            "<alipay><is_success>T</is_success>",
            "<alipay><is_success>T</is_success></alipay><alipay/>",
            "<alipay><is_success>T</is_success><is_success>F</is_success></alipay>",
            "<alipay><is_success>F</is_success><error>A</error><error>B</error></alipay>",
            "<alipay><is_success></is_success></alipay>",
            "<alipay><is_success/></alipay>",
            "<alipay><is_success><b>T</b></is_success></alipay>",
            "<alipay>T<is_success>T</is_success></alipay>",
            "<alipay><is_success>T</error></alipay>",
            "{\"is_success\":\"T\"}",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn the_outcome_table() {
        let no = BatchNo::parse("20240514001").unwrap();
        assert_eq!(
            answer("T", None).outcome(&no, false),
            Ok(RefundSubmitted::Accepted {
                batch_no: Some(no.clone())
            })
        );
        for code in DEFINITE_REFUSALS {
            let Err(GatewayError::Rejected(f)) = answer("F", Some(code)).outcome(&no, false) else {
                panic!("{code} must be a rejection");
            };
            assert_eq!((f.code.as_str(), f.sub_code), (code, None));
        }
        assert!(matches!(
            answer("F", Some("DUPLICATE_BATCH_NO")).outcome(&no, true),
            Err(GatewayError::Unknown(_))
        ));
        // Other codes stay rejections on a re-send: the batch was refused as a whole.
        assert!(matches!(
            answer("F", Some("ILLEGAL_SIGN")).outcome(&no, true),
            Err(GatewayError::Rejected(_))
        ));
        for unknown in [
            answer("F", Some("SYSTEM_ERROR")),
            answer("F", Some("SOMETHING_NEW")),
            answer("F", None),
            answer("T", Some("ILLEGAL_SIGN")),
            answer("P", None),
            answer("t", None),
        ] {
            assert!(
                matches!(
                    unknown.clone().outcome(&no, false),
                    Err(GatewayError::Unknown(_))
                ),
                "{unknown:?}"
            );
        }
    }
}
