//! The relations this charm provides, as a hook reads them: `lb-consumers`
//! (application data, loadbalancer v1) and the unit-data relations
//! `loadbalancer` (public-address) and `website` (http).

use std::collections::BTreeMap;

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

/// A unit-data relation as read at the start of the hook.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct UnitRelation {
    /// Relation id.
    pub id: String,
    /// Our unit data as it is now.
    pub our_unit_data: BTreeMap<String, String>,
}
