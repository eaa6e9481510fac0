//! What the charm wants: config model and validation, peers, the relation
//! protocols, the pure `plan`, status and actions.

pub mod haproxy;
pub mod render;
