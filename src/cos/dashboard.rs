//! `dashboards`: each Grafana dashboard compiled in, with the uid and tag the
//! library sets, as `base64(xz(json))` (Python's `lzma.compress` defaults:
//! the .xz container, preset 6, CRC64).

use std::io::{Read, Write};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use liblzma::read::XzDecoder;
use liblzma::write::XzEncoder;
use serde_json::Value;
use sha3::digest::{ExtendableOutput, Update, XofReader};
use sha3::Shake256;

use super::error::{CosError, CHARM_NAME};

/// The dashboards of `src/grafana_dashboards`: path relative to the charm
/// root (part of the uid) and content.
pub const DASHBOARDS: &[(&str, &str)] = &[(
    "src/grafana_dashboards/k8s-vip.json",
    include_str!("../grafana_dashboards/k8s-vip.json"),
)];

/// Python's `lzma.compress` default preset.
const XZ_PRESET: u32 = 6;

/// `COSAgentProvider._dashboards`: every dashboard with its uid and the
/// `charm: k8s-vip` tag, encoded.
pub fn dashboards() -> Result<Vec<String>, CosError> {
    DASHBOARDS
        .iter()
        .map(|(path, text)| {
            let bad = |reason: String| CosError::Dashboard { file: path, reason };
            let mut dashboard: Value =
                serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
            let fields = dashboard
                .as_object_mut()
                .ok_or_else(|| bad("not a JSON object".into()))?;
            fields.insert("uid".into(), Value::String(dashboard_uid(CHARM_NAME, path)));
            let tags = fields
                .entry("tags")
                .or_insert_with(|| Value::Array(Vec::new()))
                .as_array_mut()
                .ok_or_else(|| bad("tags is not a list".into()))?;
            let tagged = tags
                .iter()
                .any(|t| t.as_str().is_some_and(|t| t.starts_with("charm: ")));
            if !tagged {
                tags.push(Value::String(format!("charm: {CHARM_NAME}")));
            }
            encode_dashboard(&dashboard)
        })
        .collect()
}

/// `DashboardPath40UID.generate(charm, path)`: 20 bytes of SHAKE256 of
/// `charm-path`, in hex (Grafana allows 40 characters).
fn dashboard_uid(charm: &str, path: &str) -> String {
    let mut shake = Shake256::default();
    shake.update(format!("{charm}-{path}").as_bytes());
    let mut digest = [0u8; 20];
    XofReader::read(&mut shake.finalize_xof(), &mut digest);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// `LZMABase64.compress(json.dumps(dashboard))`.
pub fn encode_dashboard(dashboard: &Value) -> Result<String, CosError> {
    let text = serde_json::to_vec(dashboard).map_err(|e| CosError::Encode(e.to_string()))?;
    let mut encoder = XzEncoder::new(Vec::new(), XZ_PRESET);
    encoder
        .write_all(&text)
        .map_err(|e| CosError::Encode(e.to_string()))?;
    let xz = encoder
        .finish()
        .map_err(|e| CosError::Encode(e.to_string()))?;
    Ok(STANDARD.encode(xz))
}

/// `json.loads(LZMABase64.decompress(encoded))`: what the collector and
/// Grafana read back.
pub fn decode_dashboard(encoded: &str) -> Result<Value, CosError> {
    let bad = |e: String| CosError::Encode(format!("decoding a dashboard: {e}"));
    let xz = STANDARD.decode(encoded).map_err(|e| bad(e.to_string()))?;
    let mut text = Vec::new();
    XzDecoder::new(xz.as_slice())
        .read_to_end(&mut text)
        .map_err(|e| bad(e.to_string()))?;
    serde_json::from_slice(&text).map_err(|e| bad(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_matches_python_shake_256() {
        // python3 -c 'import hashlib; print(hashlib.shake_256(
        //   b"k8s-vip-src/grafana_dashboards/k8s-vip.json").hexdigest(20))'
        assert_eq!(
            dashboard_uid("k8s-vip", "src/grafana_dashboards/k8s-vip.json"),
            "31d228ecda6e0eb674c12d92155296746cffd810"
        );
    }

    #[test]
    fn encoding_round_trips_as_xz() {
        let value = serde_json::json!({"title": "t", "panels": []});
        let encoded = encode_dashboard(&value).unwrap();
        let xz = STANDARD.decode(&encoded).unwrap();
        assert_eq!(
            &xz[..6],
            b"\xfd7zXZ\0",
            "the .xz container lzma.decompress expects"
        );
        assert_eq!(decode_dashboard(&encoded).unwrap(), value);
    }
}
