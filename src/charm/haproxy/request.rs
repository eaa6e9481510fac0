//! The consumer's side of `loadbalancer` interface version 1, as far as the
//! load balancer needs it: the request JSON (`request_<name>` in the
//! consumer's application data) and the errors the provider answers with.
//!
//! Field names and defaults follow canonical/loadbalancer-interface
//! `schemas/v1.py`, so a request that library accepts parses here too.

use std::collections::BTreeMap;

use serde::Deserialize;

/// A `loadbalancer` v1 request, deserialized from the consumer's JSON.
///
/// Only the fields the provider acts on are typed; `id`, `name`, `public`,
/// `ingress_address` and `sent_hash` are kept so the charm can answer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct LbRequest {
    /// The request's name (`api-server-external`); the key is `request_<name>`.
    pub name: String,
    /// `tcp`, `udp`, `http` or `https`.
    pub protocol: String,
    /// Backend addresses; empty means the consumer units' ingress addresses.
    #[serde(default)]
    pub backends: Vec<String>,
    /// Frontend port → backend port. JSON object keys are strings.
    pub port_mapping: BTreeMap<String, u32>,
    /// Balancing algorithms in order of preference.
    #[serde(default)]
    pub algorithm: Vec<String>,
    /// Keep a client on the same backend.
    #[serde(default)]
    pub sticky: bool,
    /// Active health checks of the backends.
    #[serde(default)]
    pub health_checks: Vec<HealthCheckRequest>,
    /// Whether the consumer wants a public address (informational here).
    #[serde(default = "default_true")]
    pub public: bool,
    /// TLS termination at the load balancer (not supported: we pass TLS through).
    #[serde(default)]
    pub tls_termination: bool,
    /// Consumer-chosen id, echoed in logs.
    #[serde(default)]
    pub id: Option<String>,
    /// md5 of the request JSON; the response echoes it as `received_hash`.
    #[serde(default)]
    pub sent_hash: Option<String>,
}

fn default_true() -> bool {
    true
}

fn default_interval() -> u32 {
    30
}

fn default_retries() -> u32 {
    3
}

/// One entry of a request's `health_checks`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct HealthCheckRequest {
    /// `tcp`, `http` or `https` (`udp` is unsupported).
    pub protocol: String,
    /// Port on the backend to check.
    pub port: u32,
    /// HTTP path (http/https checks).
    #[serde(default)]
    pub path: Option<String>,
    /// Seconds between checks (default 30).
    #[serde(default = "default_interval")]
    pub interval: u32,
    /// Consecutive failures before a backend is taken out (default 3).
    #[serde(default = "default_retries")]
    pub retries: u32,
}

impl LbRequest {
    /// Parses the JSON value of a `request_<name>` key.
    pub fn from_json(json: &str) -> Result<LbRequest, RequestError> {
        serde_json::from_str(json).map_err(|err| RequestError::Malformed {
            message: format!("request JSON does not match loadbalancer v1: {err}"),
        })
    }
}

/// Why a request cannot be served; maps onto the v1 response's `error`,
/// `error_message` and `error_fields`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// The request asks for something this provider does not do
    /// (`"error": "unsupported"`); `field` is the request field at fault.
    #[error("unsupported {field}: {message}")]
    Unsupported {
        /// The request field name, as the interface spells it.
        field: &'static str,
        /// What is unsupported and what would work instead.
        message: String,
    },
    /// The request is well-formed but its values cannot be served
    /// (`"error": "provider_error"` with `error_fields`).
    #[error("invalid {field}: {message}")]
    Invalid {
        /// The request field name, as the interface spells it.
        field: &'static str,
        /// What is wrong with the value.
        message: String,
    },
    /// The request JSON itself is unreadable (`"error": "provider_error"`).
    #[error("{message}")]
    Malformed {
        /// The parse error.
        message: String,
    },
}

impl RequestError {
    /// The v1 response's `error` value, as the enum member *name* the
    /// library reads: `unsupported` or `provider_error`.
    pub fn code(&self) -> &'static str {
        match self {
            RequestError::Unsupported { .. } => "unsupported",
            RequestError::Invalid { .. } | RequestError::Malformed { .. } => "provider_error",
        }
    }

    /// The v1 response's `error_fields`: request field name → message.
    pub fn error_fields(&self) -> BTreeMap<String, String> {
        match self {
            RequestError::Unsupported { field, message }
            | RequestError::Invalid { field, message } => {
                BTreeMap::from([((*field).to_string(), message.clone())])
            }
            RequestError::Malformed { .. } => BTreeMap::new(),
        }
    }

    pub(crate) fn unsupported(field: &'static str, message: impl Into<String>) -> Self {
        RequestError::Unsupported {
            field,
            message: message.into(),
        }
    }

    pub(crate) fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        RequestError::Invalid {
            field,
            message: message.into(),
        }
    }
}
