//! The second pass of the `lb-consumers` planner: one `response_<name>` per
//! request (the address, or the v1 error naming the field at fault), from
//! the request itself and what the HAProxy planner accepted or refused, and
//! the relation data the leader sets.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde_json::{json, Map, Value};

use super::context::{ProviderContext, REQUEST_PREFIX, RESPONSE_PREFIX, VERSION};
use super::request::{parse_request, sent_hash_of, unsupported, Request};
use crate::charm::haproxy::owners::{owners_json, OWNERS_KEY};
use crate::charm::reldata;
use crate::charm::types::{ConsumerRelation, Part, ProxyOutcome, RejectionKind, RelationSet};

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

/// The leader's share of the plan on `lb-consumers`: the app-data changes
/// that bring each relation to its [`answer`], and the port owners
/// remembered in the peer app data when they changed.
pub fn part(rels: &[ConsumerRelation], ctx: &ProviderContext<'_>, proxy: &ProxyOutcome) -> Part {
    let mut part = Part::default();
    if let (Some(cluster), Some(owners)) = (ctx.cluster_relation, &proxy.port_owners) {
        if owners != ctx.port_owners {
            part.relation_sets.push(RelationSet {
                relation_id: cluster.to_string(),
                app: true,
                data: BTreeMap::from([(OWNERS_KEY.to_string(), owners_json(owners))]),
            });
        }
    }
    for rel in rels {
        let answer = answer(rel, ctx, proxy);
        part.logs.extend(answer.logs);
        let changes = reldata::diff(&rel.our_app_data, &answer.app_data, &owned_key);
        if !changes.is_empty() {
            part.relation_sets.push(RelationSet {
                relation_id: rel.id.clone(),
                app: true,
                data: changes,
            });
        }
    }
    part
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
                let message = format!("malformed request: {why}");
                let mut fields = Map::new();
                if let Some(field) = why.field {
                    fields.insert(field.into(), Value::String(message.clone()));
                }
                error_response(
                    RejectionKind::ProviderError.code(),
                    Some(&message),
                    &fields,
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
        // No field when no one request field is at fault (HAProxy refused
        // the rendered file); `error_message` says why.
        if !r.field.is_empty() {
            fields.insert(r.field.clone(), Value::String(r.message.clone()));
        }
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
