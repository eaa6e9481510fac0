//! BFD, Bidirectional Forwarding Detection (RFC 5880 asynchronous mode,
//! RFC 5881 single hop), with no I/O and no clock: how the agent learns in
//! tens of milliseconds that a peer went silent.
//!
//! - [`packet`]: the Control packet codec (no authentication) and the typed
//!   drop reasons the shell counts;
//! - [`session`]: one session as a state machine fed `(event, now)`,
//!   returning packets to send, state changes and the next deadline;
//! - [`takeover`]: which backup acts when the session to the master goes Down;
//! - [`jitter`]: the injected randomness for transmit jitter.
//!
//! The I/O shell (UDP port 3784, TTL 255) is `crate::agent::bfd_socket`.

pub mod jitter;
pub mod packet;
pub mod session;
pub mod takeover;
