//! The OpenAPI side: `gateway.do` as Alipay answers it.
//!
//! Every request is checked like the real gateway does: required parameters (40001),
//! app id, sign type and signature (40002, answered unsigned, with the string the
//! gateway verified in `sub_msg`); then the method runs and the answer is signed over
//! the exact text of its `<method>_response` node.

mod methods;

use poem::http::StatusCode;
use poem::{handler, web::Data, Request, Response};
use serde_json::{Map, Value};

use crate::error::AlipayError;
use crate::faults::MethodFault;
use crate::signing::{decode, request_content};
use crate::sim::{lock, Simulator};

/// A verified request: its parameters and parsed `biz_content`.
pub(crate) struct Call {
    pub method: String,
    pub params: Vec<(String, String)>,
    pub biz: Map<String, Value>,
    /// `scheme://host/prefix` of the simulator, for links it hands out.
    pub base_url: String,
}

impl Call {
    pub fn param(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    pub fn biz_str(&self, key: &str) -> Option<&str> {
        self.biz
            .get(key)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
    }
}

/// What a method answers.
pub(crate) enum Answer {
    /// A `10000` node (code and msg are added).
    Success(Map<String, Value>),
    Error(AlipayError),
    /// Page/wap pay: the browser is sent on to the cashier.
    Browser(Response),
}

/// The simulator's base URL as the caller reached it: `http://host/prefix`.
pub(crate) fn base_url(req: &Request, own_path: &str) -> String {
    let host = req
        .headers()
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    let path = req.original_uri().path();
    let prefix = path.strip_suffix(own_path).unwrap_or("");
    format!("http://{host}{prefix}")
}

fn node_name(method: &str) -> String {
    format!("{}_response", method.replace('.', "_"))
}

/// `{"<method>_response":NODE,"sign":"..."}` with the signature over NODE's exact text.
pub(crate) fn respond(
    sim: &Simulator,
    method: &str,
    node: &Value,
    signature: Signature,
) -> Response {
    let node_text = node.to_string();
    let name = node_name(method);
    // Certificate mode names the certificate a signed answer is signed under, between
    // the node and `sign` (PROTOCOL.md A4).
    let cert_sn = match sim.alipay_cert_sn() {
        Some(sn) if signature != Signature::None => format!(r#","alipay_cert_sn":"{sn}""#),
        _ => String::new(),
    };
    let body = match signature {
        Signature::Good => format!(
            r#"{{"{name}":{node_text}{cert_sn},"sign":"{}"}}"#,
            sim.sign(&node_text)
        ),
        Signature::Wrong => {
            let tampered = sim.sign(&format!("{node_text} "));
            format!(r#"{{"{name}":{node_text}{cert_sn},"sign":"{tampered}"}}"#)
        }
        Signature::None => format!(r#"{{"{name}":{node_text}}}"#),
    };
    Response::builder()
        .content_type("text/html;charset=utf-8")
        .body(body)
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signature {
    Good,
    Wrong,
    None,
}

/// Checks what the real gateway checks before running a method.
fn check(sim: &Simulator, params: &[(String, String)]) -> Result<String, AlipayError> {
    let get = |k: &str| {
        params
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    let method = get("method")
        .ok_or_else(|| AlipayError::missing("isv.missing-method", "缺少方法名参数"))?;
    let app_id =
        get("app_id").ok_or_else(|| AlipayError::missing("isv.missing-app-id", "缺少AppID参数"))?;
    let sign =
        get("sign").ok_or_else(|| AlipayError::missing("isv.missing-signature", "缺少签名参数"))?;
    let sign_type = get("sign_type")
        .ok_or_else(|| AlipayError::missing("isv.missing-signature-type", "缺少签名类型参数"))?;
    get("timestamp")
        .ok_or_else(|| AlipayError::missing("isv.missing-timestamp", "缺少时间戳参数"))?;
    get("version").ok_or_else(|| AlipayError::missing("isv.missing-version", "缺少版本参数"))?;
    if app_id != sim.config().app_id {
        return Err(AlipayError::invalid(
            "isv.invalid-app-id",
            "无效的AppID参数",
        ));
    }
    if sign_type != "RSA2" {
        return Err(AlipayError::invalid(
            "isv.invalid-signature-type",
            "无效的签名类型参数",
        ));
    }
    if let Some(charset) = get("charset") {
        if !charset.eq_ignore_ascii_case("utf-8") {
            return Err(AlipayError::invalid("isv.invalid-charset", "字符集错误"));
        }
    }
    if let Some(certs) = &sim.config().certs {
        check_cert_sns(certs, &get)?;
    }
    let content = request_content(params);
    if !sim.inner.merchant.verify(content.as_bytes(), sign) {
        return Err(AlipayError::invalid(
            "isv.invalid-signature",
            &format!("验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配，网关生成的验签字符串为：{content}"),
        ));
    }
    Ok(method.to_owned())
}

/// Certificate mode: the request names the app's certificate and the root bundle by
/// their SNs (PROTOCOL.md A9). The sub_codes are those real answers show.
fn check_cert_sns<'a>(
    certs: &crate::config::SimCerts,
    get: &dyn Fn(&str) -> Option<&'a str>,
) -> Result<(), AlipayError> {
    match get("app_cert_sn") {
        None => {
            return Err(AlipayError::invalid(
                "isv.missing-app-cert-sn",
                "缺少应用公钥证书序列号",
            ))
        }
        Some(sn) if sn != certs.app_cert_sn => {
            return Err(AlipayError::invalid(
                "isv.app-cert-not-exist",
                "应用公钥证书不存在",
            ))
        }
        Some(_) => {}
    }
    match get("alipay_root_cert_sn") {
        None => Err(AlipayError::invalid(
            "isv.missing-alipay-root-cert-sn",
            "缺少支付宝根证书序列号",
        )),
        Some(sn) if sn != certs.alipay_root_cert_sn => Err(AlipayError::invalid(
            "isv.invalid-alipay-root-cert-sn",
            "无效支付宝根证书序列号",
        )),
        Some(_) => Ok(()),
    }
}

/// `GET|POST /gateway.do`.
#[handler]
pub(crate) async fn gateway(req: &Request, body: Vec<u8>, sim: Data<&Simulator>) -> Response {
    let sim = sim.0.clone();
    let mut params = decode(req.uri().query().unwrap_or("").as_bytes());
    params.extend(decode(&body));
    let method_param = params
        .iter()
        .find(|(k, _)| k == "method")
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| "error".into());
    let method = match check(&sim, &params) {
        Ok(method) => method,
        Err(e) => return respond(&sim, &method_param, &e.node(), Signature::None),
    };
    let biz = match params.iter().find(|(k, _)| k == "biz_content") {
        None => Map::new(),
        Some((_, text)) => match serde_json::from_str::<Map<String, Value>>(text) {
            Ok(biz) => biz,
            Err(_) => {
                let e = AlipayError::invalid("isv.invalid-parameter", "biz_content 不是 JSON 对象");
                return respond(&sim, &method, &e.node(), Signature::None);
            }
        },
    };
    let fault = lock(&sim.inner.faults).take(&method);
    let mut signature = Signature::Good;
    let mut system_error = None;
    let mut delay = None;
    match fault {
        Some(MethodFault::Delay { ms }) => delay = Some(std::time::Duration::from_millis(ms)),
        Some(MethodFault::Http500) => {
            return Response::builder()
                .status(StatusCode::INTERNAL_SERVER_ERROR)
                .body("<html><body>500 Internal Server Error</body></html>")
        }
        Some(MethodFault::Unavailable) => {
            return respond(
                &sim,
                &method,
                &AlipayError::unavailable().node(),
                Signature::Good,
            )
        }
        Some(MethodFault::SystemError { performed }) => system_error = Some(performed),
        Some(MethodFault::BadSignature) => signature = Signature::Wrong,
        Some(MethodFault::MissingSignature) => signature = Signature::None,
        None => {}
    }
    let call = Call {
        method: method.clone(),
        params,
        biz,
        base_url: base_url(req, "/gateway.do"),
    };
    if system_error == Some(false) {
        let e = AlipayError::business("ACQ.SYSTEM_ERROR", "系统错误");
        return respond(&sim, &method, &e.node(), signature);
    }
    let answer = methods::run(&sim, &call);
    if let Some(delay) = delay {
        // The work is done; only the answer is late. A merchant that times out first
        // never learns that it happened, which is what makes timeouts dangerous.
        tokio::time::sleep(delay).await;
    }
    if system_error == Some(true) {
        let e = AlipayError::business("ACQ.SYSTEM_ERROR", "系统错误");
        return respond(&sim, &method, &e.node(), signature);
    }
    match answer {
        Answer::Browser(response) => response,
        Answer::Success(mut node) => {
            let mut full = Map::new();
            full.insert("code".into(), "10000".into());
            full.insert("msg".into(), "Success".into());
            full.append(&mut node);
            respond(&sim, &method, &Value::Object(full), signature)
        }
        Answer::Error(e) => {
            let signature = if e.is_gateway_level() {
                Signature::None
            } else {
                signature
            };
            respond(&sim, &method, &e.node(), signature)
        }
    }
}
