//! Reception of a BFD Control packet (RFC 5880 §6.8.6), after the
//! packet-only checks of [`crate::bfd::packet::decode`].

use std::time::Instant;

use super::{Output, Session};
use crate::bfd::jitter::JitterSource;
use crate::bfd::packet::{ControlPacket, DecodeError, Diag, SessionState};

impl<R: JitterSource> Session<R> {
    /// The §6.8.6 procedure from "select the session" on, in the RFC's order.
    pub(super) fn receive(&mut self, p: ControlPacket, now: Instant, out: &mut Output) {
        if p.your_discriminator != 0 && p.your_discriminator != self.cfg.local_discriminator {
            out.discarded = Some(DecodeError::BadDiscriminator(p.your_discriminator));
            return;
        }
        self.remote_discr = p.my_discriminator;
        self.remote_state = p.state;
        self.remote_diag = p.diag;
        self.remote_demand = p.demand;
        self.remote_min_rx_us = p.required_min_rx_us;
        self.remote_desired_tx_us = p.desired_min_tx_us;
        self.remote_detect_mult = p.detect_mult;
        if p.final_ {
            self.poll_from = None;
        }
        if self.state == SessionState::AdminDown {
            // Discarded (§6.8.6); the detection timer is not needed while held down.
            self.retime(now);
            return;
        }
        // The packet is accepted: the detection time counts from now.
        self.last_rx = Some(now);
        self.retime(now);
        self.advance(p.state, now, out);
        if p.poll {
            out.send.push(self.packet(false, true));
        }
    }

    /// The state table of §6.8.6 for a received state.
    fn advance(&mut self, remote: SessionState, now: Instant, out: &mut Output) {
        use SessionState::*;
        match (self.state, remote) {
            (Down, _) | (AdminDown, _) if remote == AdminDown => {}
            (_, AdminDown) => self.set_state(Down, Diag::NeighborSignaledDown, now, out),
            (Down, Down) => self.set_state(Init, Diag::None, now, out),
            (Down, Init) | (Init, Init) | (Init, Up) => self.set_state(Up, Diag::None, now, out),
            (Up, Down) => self.set_state(Down, Diag::NeighborSignaledDown, now, out),
            _ => {}
        }
    }
}
