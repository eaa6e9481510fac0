//! The `lb-consumers` endpoint: provider side of the `loadbalancer` interface,
//! protocol version 1 (canonical/loadbalancer-interface), as
//! kubernetes-control-plane's `loadbalancer-internal` / `loadbalancer-external`
//! endpoints speak it.
//!
//! Everything lives in application data. Both leaders write `version: "1"`; a
//! relation is ignored until the consumer has published its version. Each
//! `request_<name>` (JSON) is answered with `response_<name>` =
//! `{"address", "error", "error_fields", "error_message", "received_hash"}`,
//! where `received_hash` echoes the request's `sent_hash` so the consumer knows
//! the answer is for the request it sent.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use serde_json::{json, Map, Value};

use super::proxy::{ProxyNeed, ProxyOutcome};

/// The endpoint name in metadata.yaml.
pub const ENDPOINT: &str = "lb-consumers";
/// The protocol version we speak.
pub const VERSION: &str = "1";
const REQUEST_PREFIX: &str = "request_";
const RESPONSE_PREFIX: &str = "response_";

/// One `lb-consumers` relation as read at the start of the hook.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct ConsumerRelation {
    /// Relation id (`lb-consumers:7`).
    pub id: String,
    /// The consumer application.
    pub remote_app: Option<String>,
    /// The consumer's application data.
    pub remote_app_data: BTreeMap<String, String>,
    /// The consumer's units and their unit data (for `ingress-address`).
    pub remote_units: Vec<(String, BTreeMap<String, String>)>,
    /// Our application data as it is now.
    pub our_app_data: BTreeMap<String, String>,
}

/// What the provider needs to know about this application.
#[derive(Debug, Clone)]
pub struct ProviderContext<'a> {
    /// Our VIPs (IPv4 first).
    pub vips: &'a [IpAddr],
    /// `vip-hostname`, answered instead of the address when set.
    pub hostname: Option<&'a str>,
    /// This unit's own addresses (the direct rule).
    pub my_addrs: &'a [IpAddr],
    /// The peers' known addresses (the VIP may land on any of them).
    pub peer_addrs: &'a [IpAddr],
}

/// A request that parsed and passed protocol checks.
#[derive(Debug, Clone, PartialEq)]
struct Request {
    name: String,
    protocol: String,
    backends: Vec<String>,
    port_mapping: Vec<(u16, u16)>,
    algorithm: Vec<String>,
    sticky: bool,
    health_checks: Vec<Value>,
    ingress_address: Option<String>,
    sent_hash: Option<String>,
    tls_termination: bool,
}

/// The outcome for one relation: our desired app data and log lines.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProviderAnswer {
    /// Our complete desired application data for the relation (`version`,
    /// one `response_<name>` per request).
    pub app_data: BTreeMap<String, String>,
    /// Warnings worth a `juju-log`.
    pub logs: Vec<String>,
}

/// Whether a key of our app data is ours to manage on this endpoint.
pub fn owned_key(key: &str) -> bool {
    key == "version" || key.starts_with(RESPONSE_PREFIX)
}

/// First pass: the proxy needs of every request that the VIP cannot serve
/// directly (fed to [`super::proxy::plan_proxy`]).
pub fn proxy_needs(rels: &[ConsumerRelation], ctx: &ProviderContext<'_>) -> Vec<ProxyNeed> {
    let mut needs = Vec::new();
    for rel in rels
        .iter()
        .filter(|r| r.remote_app_data.contains_key("version"))
    {
        for (key, raw) in &rel.remote_app_data {
            let Some(name) = key.strip_prefix(REQUEST_PREFIX) else {
                continue;
            };
            let Ok(req) = parse_request(name, raw) else {
                continue;
            };
            if unsupported(&req).is_some() {
                continue;
            }
            let backends = backends_of(&req, rel);
            for (front, back) in &req.port_mapping {
                if let Err(why) = direct(ctx, &backends, *front, *back) {
                    needs.push(ProxyNeed {
                        relation_id: rel.id.clone(),
                        request: req.name.clone(),
                        protocol: req.protocol.clone(),
                        frontend_port: *front,
                        backend_port: *back,
                        backends: backends.clone(),
                        algorithm: req.algorithm.clone(),
                        sticky: req.sticky,
                        health_checks: req.health_checks.clone(),
                        not_direct_because: why,
                        raw: raw.clone(),
                    });
                }
            }
        }
    }
    needs
}

/// Second pass: our desired app data for one relation, given what the proxy
/// accepted.
pub fn answer(
    rel: &ConsumerRelation,
    ctx: &ProviderContext<'_>,
    proxy: &ProxyOutcome,
) -> ProviderAnswer {
    let mut out = ProviderAnswer::default();
    out.app_data.insert("version".into(), VERSION.into());
    match rel.remote_app_data.get("version").map(String::as_str) {
        None => return out, // consumer not ready: publish our version only
        Some(VERSION) => {}
        Some(other) => {
            out.logs.push(format!(
                "{}: consumer {} speaks loadbalancer version {other:?}, we speak {VERSION}; ignoring its requests",
                rel.id,
                rel.remote_app.as_deref().unwrap_or("?")
            ));
            return out;
        }
    }
    for (key, raw) in &rel.remote_app_data {
        let Some(name) = key.strip_prefix(REQUEST_PREFIX) else {
            continue;
        };
        let response = match parse_request(name, raw) {
            Err(why) => {
                out.logs
                    .push(format!("{}: malformed request {key}: {why}", rel.id));
                error_response(
                    "provider error",
                    Some(&format!("malformed request: {why}")),
                    &Map::new(),
                    sent_hash_of(raw),
                )
            }
            Ok(req) => respond(&req, rel, ctx, proxy),
        };
        out.app_data
            .insert(format!("{RESPONSE_PREFIX}{name}"), response.to_string());
    }
    out
}

fn respond(
    req: &Request,
    rel: &ConsumerRelation,
    ctx: &ProviderContext<'_>,
    proxy: &ProxyOutcome,
) -> Value {
    let hash = req.sent_hash.clone();
    if let Some((field, msg)) = unsupported(req) {
        let mut fields = Map::new();
        fields.insert(field.into(), Value::String(msg.clone()));
        return error_response("unsupported", Some(&msg), &fields, hash);
    }
    let address = match address_for(req, ctx) {
        Ok(a) => a,
        Err(msg) => {
            let mut fields = Map::new();
            fields.insert("ingress_address".into(), Value::String(msg.clone()));
            return error_response("unsupported", Some(&msg), &fields, hash);
        }
    };
    if let Some(r) = proxy.rejected.get(&(rel.id.clone(), req.name.clone())) {
        let mut fields = Map::new();
        fields.insert(r.field.clone(), Value::String(r.message.clone()));
        return error_response(r.kind.code(), Some(&r.message), &fields, hash);
    }
    json!({
        "address": address,
        "error": null,
        "error_fields": {},
        "error_message": null,
        "received_hash": hash,
    })
}

fn error_response(
    kind: &str,
    message: Option<&str>,
    fields: &Map<String, Value>,
    hash: Option<String>,
) -> Value {
    json!({
        "address": null,
        "error": kind,
        "error_fields": fields,
        "error_message": message,
        "received_hash": hash,
    })
}

/// The address to answer: the requested `ingress_address` when it is one of
/// ours, else the hostname, else the first VIP.
fn address_for(req: &Request, ctx: &ProviderContext<'_>) -> Result<String, String> {
    if let Some(wanted) = &req.ingress_address {
        let ours = ctx.hostname == Some(wanted.as_str())
            || wanted
                .parse::<IpAddr>()
                .is_ok_and(|a| ctx.vips.contains(&a));
        if ours {
            return Ok(wanted.clone());
        }
        return Err(format!(
            "{wanted} is not a VIP of this k8s-vip (it serves {})",
            list(ctx.vips)
        ));
    }
    if let Some(h) = ctx.hostname {
        return Ok(h.to_string());
    }
    ctx.vips
        .first()
        .map(|a| a.to_string())
        .ok_or_else(|| "no VIP configured".to_string())
}

fn list(vips: &[IpAddr]) -> String {
    vips.iter()
        .map(|v| v.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Features this provider never offers: error field and message.
fn unsupported(req: &Request) -> Option<(&'static str, String)> {
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

/// The direct rule: the VIP can serve `front -> back` itself when the mapping
/// is identity and every unit the VIP can land on (this one and the peers we
/// know the address of) is one of the backends.
fn direct(
    ctx: &ProviderContext<'_>,
    backends: &[String],
    front: u16,
    back: u16,
) -> Result<(), String> {
    if front != back {
        return Err(format!("the ports differ ({front} -> {back})"));
    }
    let backend_ips: BTreeSet<IpAddr> = backends.iter().filter_map(|b| b.parse().ok()).collect();
    if !ctx.my_addrs.iter().any(|a| backend_ips.contains(a)) {
        return Err("this unit is not one of the backends".into());
    }
    if let Some(p) = ctx.peer_addrs.iter().find(|a| !backend_ips.contains(a)) {
        return Err(format!("peer {p} is not one of the backends"));
    }
    Ok(())
}

/// The request's backends, or the consumer units' ingress addresses when empty.
fn backends_of(req: &Request, rel: &ConsumerRelation) -> Vec<String> {
    if !req.backends.is_empty() {
        return req.backends.clone();
    }
    let mut out: Vec<String> = rel
        .remote_units
        .iter()
        .filter_map(|(_, d)| {
            d.get("ingress-address")
                .or_else(|| d.get("private-address"))
                .cloned()
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Best effort: the sent_hash of a request that did not parse.
fn sent_hash_of(raw: &str) -> Option<String> {
    serde_json::from_str::<Value>(raw)
        .ok()?
        .get("sent_hash")?
        .as_str()
        .map(str::to_string)
}

fn parse_request(name: &str, raw: &str) -> Result<Request, String> {
    let v: Value = serde_json::from_str(raw).map_err(|e| format!("not JSON ({e})"))?;
    let obj = v.as_object().ok_or("not a JSON object")?;
    let str_field = |k: &str| -> Result<Option<String>, String> {
        match obj.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(format!("{k} must be a string, got {other}")),
        }
    };
    let list_field = |k: &str| -> Result<Vec<String>, String> {
        match obj.get(k) {
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
    };
    let bool_field = |k: &str, default: bool| -> Result<bool, String> {
        match obj.get(k) {
            None | Some(Value::Null) => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(other) => Err(format!("{k} must be true or false, got {other}")),
        }
    };
    let protocol = str_field("protocol")?.ok_or("protocol is missing")?;
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
    let health_checks = match obj.get("health_checks") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) if items.iter().all(Value::is_object) => items.clone(),
        Some(other) => {
            return Err(format!(
                "health_checks must be a list of objects, got {other}"
            ))
        }
    };
    Ok(Request {
        name: name.to_string(),
        protocol,
        backends: list_field("backends")?,
        port_mapping,
        algorithm: list_field("algorithm")?,
        sticky: bool_field("sticky", false)?,
        health_checks,
        ingress_address: str_field("ingress_address")?,
        sent_hash: str_field("sent_hash")?,
        tls_termination: bool_field("tls_termination", false)?,
    })
}
