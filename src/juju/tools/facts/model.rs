//! The facts kept between hooks and their file format: a leaf that the
//! rules and the store share.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::juju::tools::hook_tools::Bag;
use crate::juju::tools::types::Status;

/// The file format this build writes; a file of any other is ignored.
pub const FORMAT: u32 = 1;

/// What a run knows of Juju's view, as kept between hooks.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Facts {
    /// [`FORMAT`] when written.
    pub format: u32,
    /// The unit whose hooks kept them: another unit's facts (left on a
    /// reused machine by a unit removed without its `remove` hook) are
    /// not this unit's to trust.
    pub unit: String,
    /// When everything was last read fresh (seconds since the Unix epoch).
    pub full_read_at: u64,
    /// `config-get`.
    pub config: Option<Map<String, Value>>,
    /// `relation-ids` per endpoint.
    pub relation_ids: BTreeMap<String, Vec<String>>,
    /// `relation-list` per relation id.
    pub relation_list: BTreeMap<String, Vec<String>>,
    /// `relation-list --app` per relation id.
    pub remote_app: BTreeMap<String, Option<String>>,
    /// Unit bags per relation id, then unit name.
    pub unit_bags: BTreeMap<String, BTreeMap<String, Bag>>,
    /// Application bags per relation id, then application name.
    pub app_bags: BTreeMap<String, BTreeMap<String, Bag>>,
    /// The unit status we last set.
    pub unit_status: Option<Status>,
    /// The application status we last set (as leader).
    pub app_status: Option<Status>,
    /// `state-get`.
    pub state: Option<Bag>,
}

impl Facts {
    /// The bags of kind `app` (application bags, else unit bags).
    pub fn bags_mut(&mut self, app: bool) -> &mut BTreeMap<String, BTreeMap<String, Bag>> {
        if app {
            &mut self.app_bags
        } else {
            &mut self.unit_bags
        }
    }

    /// The known bag of `who` in `rel`.
    pub fn bag(&self, rel: &str, who: &str, app: bool) -> Option<&Bag> {
        let bags = if app { &self.app_bags } else { &self.unit_bags };
        bags.get(rel).and_then(|b| b.get(who))
    }

    /// The status we last set for the unit, or the application when `app`.
    pub fn status_mut(&mut self, app: bool) -> &mut Option<Status> {
        if app {
            &mut self.app_status
        } else {
            &mut self.unit_status
        }
    }

    /// Forgets everything about relation `rel` (ids of its endpoint aside).
    pub fn forget_relation(&mut self, rel: &str) {
        self.relation_list.remove(rel);
        self.remote_app.remove(rel);
        self.unit_bags.remove(rel);
        self.app_bags.remove(rel);
    }

    /// Forgets `who`'s bag in `rel`.
    pub fn forget_bag(&mut self, rel: &str, who: &str, app: bool) {
        if let Some(bags) = self.bags_mut(app).get_mut(rel) {
            bags.remove(who);
        }
    }

    /// Forgets the application bags of `app` that only its leader may read
    /// and the application status: what only the leader writes. The bag of
    /// a peer relation (one whose members are units of `app`) is kept: every
    /// unit may read it, and Juju tells the peers of a change to it with
    /// `-relation-changed`, which forgets it then.
    pub fn forget_leader_facts(&mut self, app: &str) {
        let prefix = format!("{app}/");
        for (id, bags) in self.app_bags.iter_mut() {
            let peer = self
                .relation_list
                .get(id)
                .is_some_and(|units| units.iter().any(|u| u.starts_with(&prefix)));
            if !peer {
                bags.remove(app);
            }
        }
        self.app_status = None;
    }

    /// Whether nothing is known.
    pub fn is_empty(&self) -> bool {
        *self
            == Facts {
                format: self.format,
                unit: self.unit.clone(),
                full_read_at: self.full_read_at,
                ..Facts::default()
            }
    }
}
