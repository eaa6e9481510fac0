//! The vocabulary between a BFD session and its shell: configuration,
//! events in, output out.

use std::time::{Duration, Instant};

use crate::bfd::packet::{ControlPacket, DecodeError, Diag, SessionState};

/// The slowest-start floor of §6.8.3: Desired Min TX while not Up, µs.
pub const SLOW_TX_US: u32 = 1_000_000;

/// What the operator configured for a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionConfig {
    /// `bfd.LocalDiscr`: non-zero, unique among the local sessions.
    pub local_discriminator: u32,
    /// `bfd.DesiredMinTxInterval` once Up (non-zero).
    pub desired_min_tx: Duration,
    /// `bfd.RequiredMinRxInterval`: how fast we accept packets (0: send none).
    pub required_min_rx: Duration,
    /// `bfd.DetectMult` (non-zero).
    pub detect_mult: u8,
    /// Passive role (§6.1): send nothing until the remote has spoken.
    pub passive: bool,
}

/// Why a [`SessionConfig`] (or [`Event::SetTiming`]) was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The local discriminator must be non-zero (§6.8.1).
    #[error("local discriminator must not be 0")]
    ZeroDiscriminator,
    /// Desired Min TX must be non-zero (§6.8.1).
    #[error("desired min TX interval must not be 0")]
    ZeroTxInterval,
    /// The detect multiplier must be non-zero (§6.8.1).
    #[error("detect multiplier must not be 0")]
    ZeroDetectMult,
}

impl SessionConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.local_discriminator == 0 {
            return Err(ConfigError::ZeroDiscriminator);
        }
        if self.desired_min_tx.is_zero() {
            return Err(ConfigError::ZeroTxInterval);
        }
        if self.detect_mult == 0 {
            return Err(ConfigError::ZeroDetectMult);
        }
        Ok(())
    }
}

/// Something that happened to the session, fed in by the shell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A Control packet arrived (decoded, TTL 255, from this session's peer).
    Received(ControlPacket),
    /// [`Output::deadline`] has passed.
    TimerFired,
    /// The operator takes the session down (§6.8.16): the peer is told
    /// AdminDown and must not treat it as a failure.
    AdminDown,
    /// Undo [`Event::AdminDown`]: the session starts again from Down.
    AdminUp,
    /// New local intervals / multiplier; a Poll Sequence verifies them when Up.
    SetTiming {
        /// New `bfd.DesiredMinTxInterval` (non-zero).
        desired_min_tx: Duration,
        /// New `bfd.RequiredMinRxInterval`.
        required_min_rx: Duration,
        /// New `bfd.DetectMult` (non-zero).
        detect_mult: u8,
    },
}

/// One change of `bfd.SessionState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateChange {
    /// Previous state.
    pub from: SessionState,
    /// New state.
    pub to: SessionState,
    /// `bfd.LocalDiag` set with it (why).
    pub diag: Diag,
}

/// What the shell must do after one event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Output {
    /// Packets to send to the peer, in order.
    pub send: Vec<ControlPacket>,
    /// State changes, in order.
    pub changes: Vec<StateChange>,
    /// The received packet was dropped; count it under `reason()`.
    pub discarded: Option<DecodeError>,
    /// When to deliver the next [`Event::TimerFired`] (None: nothing pending).
    pub deadline: Option<Instant>,
}
