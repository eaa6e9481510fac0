//! What the charm wants: config model and validation, peers, the relation
//! protocols, the pure `plan`, status and actions.

pub mod handle;
pub mod render;

pub use handle::handle;
