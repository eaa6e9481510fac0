//! [`Status`]: the workload status a plan sets (`status-set` state and message).

/// Juju workload status states the charm uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum State {
    /// Serving.
    Active,
    /// Working towards serving, no action needed.
    Waiting,
    /// Deliberately not serving (paused, installing).
    Maintenance,
    /// Needs the operator.
    Blocked,
}

impl State {
    /// The word `status-set` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Active => "active",
            State::Waiting => "waiting",
            State::Maintenance => "maintenance",
            State::Blocked => "blocked",
        }
    }
}

/// A status to set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// The state.
    pub state: State,
    /// The message.
    pub message: String,
}

impl Status {
    /// Shorthand constructor.
    pub fn new(state: State, message: impl Into<String>) -> Status {
        Status {
            state,
            message: message.into(),
        }
    }
}
