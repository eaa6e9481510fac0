//! Properties of the pure plan over generated inputs: it never panics, and
//! feeding back the relation data it published makes the next plan publish
//! nothing (the relation half of hook idempotence).

mod support;

use std::collections::BTreeMap;

use k8s_vip::charm::plan::{plan, Inputs, Plan};
use k8s_vip::charm::types::ConsumerRelation;
use k8s_vip::charm::types::Peer;
use k8s_vip::charm::types::UnitRelation;
use proptest::prelude::*;
use serde_json::json;
use support::net::eth0;

fn apply_relation_sets(inputs: &mut Inputs, p: &Plan) {
    for set in &p.relation_sets {
        let peer = Some(&set.relation_id) == inputs.cluster_relation.as_ref();
        let target: Option<&mut BTreeMap<String, String>> = if set.app && peer {
            Some(&mut inputs.cluster_app_data)
        } else if set.app {
            inputs
                .consumers
                .iter_mut()
                .find(|c| c.id == set.relation_id)
                .map(|c| &mut c.our_app_data)
        } else if Some(&set.relation_id) == inputs.cluster_relation.as_ref() {
            Some(&mut inputs.own_cluster_data)
        } else {
            inputs
                .public_address
                .iter_mut()
                .chain(inputs.website.iter_mut())
                .find(|r| r.id == set.relation_id)
                .map(|r| &mut r.our_unit_data)
        };
        let Some(bag) = target else { continue };
        for (k, v) in &set.data {
            if v.is_empty() {
                bag.remove(k);
            } else {
                bag.insert(k.clone(), v.clone());
            }
        }
    }
}

fn arb_inputs() -> impl Strategy<Value = Inputs> {
    (
        1usize..6,
        0usize..6,
        prop::sample::select(vec![
            "192.0.2.100",
            "192.0.2.100 192.0.2.101",
            "10.9.9.9",
            "",
            "2001:db8::100 192.0.2.100",
            "junk",
        ]),
        any::<bool>(),
        prop::sample::select(vec![0.25, 1.0, 0.001]),
        prop::sample::select(vec![
            "{not json",
            r#"{"protocol": "tcp", "port_mapping": {"6443": 6443}, "sent_hash": "h"}"#,
            r#"{"protocol": "tcp", "port_mapping": {"443": 6443}, "sent_hash": "h2"}"#,
            r#"{"protocol": "udp", "port_mapping": {"53": 53}}"#,
        ]),
        any::<bool>(),
    )
        .prop_map(|(n, me, vip, leader, adv, request, versioned)| {
            let me = me % n;
            let mut consumer_data =
                BTreeMap::from([("request_r".to_string(), request.to_string())]);
            if versioned {
                consumer_data.insert("version".into(), "1".into());
            }
            Inputs {
                hook: "config-changed".into(),
                unit: format!("k8s-vip/{me}"),
                app: "k8s-vip".into(),
                model: "m".into(),
                config: json!({"virtual-ip": vip, "advert-interval": adv})
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
                leader,
                network: eth0(&[
                    (&format!("192.0.2.{}", 11 + me), 24),
                    (&format!("2001:db8::{}", 11 + me), 64),
                ]),
                peers: (0..n)
                    .filter(|i| *i != me)
                    .map(|i| Peer {
                        unit: format!("k8s-vip/{i}"),
                        data: BTreeMap::from([(
                            "address".to_string(),
                            format!("192.0.2.{}", 11 + i),
                        )]),
                    })
                    .collect(),
                cluster_relation: Some("cluster:0".into()),
                consumers: vec![ConsumerRelation {
                    id: "lb-consumers:3".into(),
                    remote_app: Some("kubernetes-control-plane".into()),
                    remote_app_data: consumer_data,
                    remote_units: (0..n)
                        .map(|i| {
                            (
                                format!("kubernetes-control-plane/{i}"),
                                BTreeMap::from([(
                                    "ingress-address".to_string(),
                                    format!("192.0.2.{}", 11 + i),
                                )]),
                            )
                        })
                        .collect(),
                    our_app_data: BTreeMap::new(),
                }],
                public_address: vec![UnitRelation {
                    id: "loadbalancer:4".into(),
                    our_unit_data: BTreeMap::new(),
                }],
                website: vec![UnitRelation {
                    id: "website:5".into(),
                    our_unit_data: BTreeMap::new(),
                }],
                ..Default::default()
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn second_plan_publishes_nothing(mut inputs in arb_inputs()) {
        let first = plan(&inputs);
        apply_relation_sets(&mut inputs, &first);
        let second = plan(&inputs);
        prop_assert_eq!(&second.relation_sets, &Vec::new());
        // Same files, same status: the plan is a function of its inputs.
        prop_assert_eq!(&first.files, &second.files);
        prop_assert_eq!(&first.unit_status, &second.unit_status);
    }

    #[test]
    fn leadership_never_changes_what_the_agent_runs(inputs in arb_inputs()) {
        let mut other = inputs.clone();
        other.leader = !inputs.leader;
        let a = plan(&inputs);
        let b = plan(&other);
        let agent = |p: &Plan| p.files.iter().find(|f| f.path == "/etc/k8s-vip/agent.yaml").map(|f| f.content.clone());
        prop_assert_eq!(agent(&a), agent(&b));
        prop_assert_eq!(&a.services, &b.services);
    }
}
