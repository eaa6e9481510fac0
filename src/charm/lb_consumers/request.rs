//! One `request_<name>` of a consumer, parsed into a [`Request`]: every
//! field typed, ports bounded, or a message saying which field is wrong.
//! Also the protocol checks for features this provider never offers.

use serde_json::{Map, Value};

/// A request that parsed and passed protocol checks.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// The request's name (the key without `request_`).
    pub name: String,
    /// tcp | http | https (others are refused as unsupported).
    pub protocol: String,
    /// Backend addresses as sent (empty: the consumer units).
    pub backends: Vec<String>,
    /// (frontend, backend) ports, sorted.
    pub port_mapping: Vec<(u16, u16)>,
    /// Requested algorithms, most preferred first.
    pub algorithm: Vec<String>,
    /// Whether clients should stick to one backend.
    pub sticky: bool,
    /// Health checks, as JSON objects.
    pub health_checks: Vec<Value>,
    /// The address the consumer wants answered, if any.
    pub ingress_address: Option<String>,
    /// Echoed back as `received_hash`.
    pub sent_hash: Option<String>,
    /// TLS termination requested (unsupported).
    pub tls_termination: bool,
}

/// Why a request did not parse: the request field at fault (none when the
/// JSON itself is unreadable) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// The request field, as the interface spells it.
    pub field: Option<&'static str>,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Tags an error message with the request field it is about.
fn at(field: &'static str) -> impl Fn(String) -> ParseError {
    move |message| ParseError {
        field: Some(field),
        message,
    }
}

/// Parses the JSON of `request_<name>`.
pub fn parse_request(name: &str, raw: &str) -> Result<Request, ParseError> {
    let whole = |message: String| ParseError {
        field: None,
        message,
    };
    let v: Value = serde_json::from_str(raw).map_err(|e| whole(format!("not JSON ({e})")))?;
    let obj = Fields(
        v.as_object()
            .ok_or_else(|| whole("not a JSON object".into()))?,
    );
    let protocol = obj
        .string("protocol")
        .and_then(|p| p.ok_or_else(|| "protocol is missing".to_string()))
        .map_err(at("protocol"))?;
    Ok(Request {
        name: name.to_string(),
        protocol,
        backends: obj.strings("backends").map_err(at("backends"))?,
        port_mapping: port_mapping(obj.0).map_err(at("port_mapping"))?,
        algorithm: obj.strings("algorithm").map_err(at("algorithm"))?,
        sticky: obj.flag("sticky", false).map_err(at("sticky"))?,
        health_checks: health_checks(obj.0).map_err(at("health_checks"))?,
        ingress_address: obj
            .string("ingress_address")
            .map_err(at("ingress_address"))?,
        sent_hash: obj.string("sent_hash").map_err(at("sent_hash"))?,
        tls_termination: obj
            .flag("tls_termination", false)
            .map_err(at("tls_termination"))?,
    })
}

/// Best effort: the sent_hash of a request that did not parse.
pub fn sent_hash_of(raw: &str) -> Option<String> {
    serde_json::from_str::<Value>(raw)
        .ok()?
        .get("sent_hash")?
        .as_str()
        .map(str::to_string)
}

/// Features this provider never offers: error field and message.
pub fn unsupported(req: &Request) -> Option<(&'static str, String)> {
    match req.protocol.as_str() {
        "tcp" | "http" | "https" => {}
        "udp" => return Some(("protocol", "udp is not supported; use tcp".into())),
        other => {
            return Some((
                "protocol",
                format!("{other:?} is not a protocol; use tcp, http or https"),
            ))
        }
    }
    if req.tls_termination {
        return Some((
            "tls_termination",
            "TLS termination is not supported; request tcp (TLS passthrough) instead".into(),
        ));
    }
    if req.port_mapping.is_empty() {
        return Some(("port_mapping", "no ports requested".into()));
    }
    None
}

/// Typed access to a request object's optional fields (absent or null =
/// default).
struct Fields<'a>(&'a Map<String, Value>);

impl Fields<'_> {
    fn string(&self, k: &str) -> Result<Option<String>, String> {
        match self.0.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(format!("{k} must be a string, got {other}")),
        }
    }

    fn strings(&self, k: &str) -> Result<Vec<String>, String> {
        match self.0.get(k) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|i| {
                    i.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| format!("{k} must be a list of strings"))
                })
                .collect(),
            Some(other) => Err(format!("{k} must be a list, got {other}")),
        }
    }

    fn flag(&self, k: &str, default: bool) -> Result<bool, String> {
        match self.0.get(k) {
            None | Some(Value::Null) => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(other) => Err(format!("{k} must be true or false, got {other}")),
        }
    }
}

/// `port_mapping`: `{"FRONT": BACK}`, both ports 1..65535, sorted.
fn port_mapping(obj: &Map<String, Value>) -> Result<Vec<(u16, u16)>, String> {
    let mapping = obj
        .get("port_mapping")
        .and_then(Value::as_object)
        .ok_or("port_mapping is missing or not an object")?;
    let mut port_mapping = Vec::with_capacity(mapping.len());
    for (k, v) in mapping {
        let front: u16 = k
            .parse()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| format!("port_mapping key {k:?} is not a port"))?;
        let back = v
            .as_u64()
            .and_then(|p| u16::try_from(p).ok())
            .filter(|p| *p != 0)
            .ok_or_else(|| format!("port_mapping value {v} is not a port"))?;
        port_mapping.push((front, back));
    }
    port_mapping.sort();
    Ok(port_mapping)
}

/// `health_checks`: a list of objects (checked in detail by the HAProxy model).
fn health_checks(obj: &Map<String, Value>) -> Result<Vec<Value>, String> {
    match obj.get("health_checks") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) if items.iter().all(Value::is_object) => Ok(items.clone()),
        Some(other) => Err(format!(
            "health_checks must be a list of objects, got {other}"
        )),
    }
}
