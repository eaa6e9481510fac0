//! The receive side of the state machine: instance-level checks and what an
//! advert does in each state (RFC 5798 §6.4.2, §6.4.3, §7.1), including
//! preemption and its delay.

use std::net::IpAddr;
use std::time::Instant;

use super::math::{addr_gt, interval_of_cs, later};
use super::{Action, Router, State};
use crate::vrrp::packet::{auth_type, Advert, DecodeError, Version};

impl Router {
    pub(super) fn on_advert(
        &mut self,
        from: IpAddr,
        adv: Advert,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        if let Err(e) = self.check(from, &adv) {
            out.push(Action::Discarded(e));
            return;
        }
        match self.state {
            State::Master => self.master_rx(from, adv, now, out),
            State::Backup => self.backup_rx(from, adv, now),
            _ => self.note_master(from, adv.priority),
        }
    }

    /// Instance-level receive checks (RFC 5798 §7.1 / RFC 3768 §7.1).
    pub(super) fn check(&self, from: IpAddr, adv: &Advert) -> Result<(), DecodeError> {
        if adv.vrid != self.cfg.vrid {
            return Err(DecodeError::UnknownVrid(adv.vrid));
        }
        if adv.version != self.cfg.version {
            return Err(DecodeError::VersionMismatch {
                got: adv.version,
                want: self.cfg.version,
            });
        }
        if from == self.cfg.primary_addr {
            return Err(DecodeError::OwnAddress(from));
        }
        if adv.max_advert_int_cs == 0 {
            return Err(DecodeError::ZeroInterval);
        }
        if self.cfg.version == Version::V2 {
            let auth_ok = adv.auth_type == self.cfg.auth_type
                && (self.cfg.auth_type != auth_type::SIMPLE || adv.auth_data == self.cfg.auth_data);
            if !auth_ok {
                return Err(DecodeError::AuthMismatch);
            }
            let want = self.cfg.advert_interval_cs();
            if adv.max_advert_int_cs != want {
                return Err(DecodeError::IntervalMismatch {
                    got_cs: adv.max_advert_int_cs,
                    want_cs: want,
                });
            }
        }
        Ok(())
    }

    pub(super) fn master_rx(
        &mut self,
        from: IpAddr,
        adv: Advert,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        if adv.priority == 0 {
            // Another router resigned: re-assert at once (RFC 5798 §6.4.3).
            out.push(Action::SendAdvert {
                priority: self.priority,
            });
            self.adver_at = Some(later(now, self.cfg_interval()));
            return;
        }
        let higher = adv.priority > self.priority;
        let tie_won = adv.priority == self.priority && addr_gt(from, self.cfg.primary_addr);
        if higher || tie_won {
            // Yield, but first tell the winner we were master too: it answers a
            // lower-priority advert by re-announcing the VIPs (we do, and so does
            // keepalived by default), so clients that followed us are won back
            // even when its advert reached us before ours reached it
            // (split brain healing, keepalived#166).
            out.push(Action::SendAdvert {
                priority: self.priority,
            });
            self.learn_interval(&adv);
            self.master = Some(from);
            self.resigned_by = None;
            let why = if higher {
                format!(
                    "higher priority advert from {from} ({} > {})",
                    adv.priority, self.priority
                )
            } else {
                format!(
                    "equal priority advert from higher address {from} ({})",
                    adv.priority
                )
            };
            self.become_backup(now, why, out);
        } else {
            // A lower master exists (e.g. a healed partition): make it step
            // down now and win back the ARP/ND caches (keepalived#166).
            out.push(Action::SendAdvert {
                priority: self.priority,
            });
            out.push(Action::SendGratuitous);
            self.adver_at = Some(later(now, self.cfg_interval()));
        }
    }

    pub(super) fn backup_rx(&mut self, from: IpAddr, adv: Advert, now: Instant) {
        if adv.priority == 0 {
            // Only the master we follow (or any, when we follow none) can hand
            // over; a stray resignation from elsewhere (a healed partition's
            // other master) must not start an election while ours is alive.
            if self.master.is_none() || self.master == Some(from) {
                self.master = None;
                self.resigned_by = Some(from);
                let skew = later(now, self.skew_time());
                self.master_down_at = Some(self.master_down_at.map_or(skew, |t| t.min(skew)));
            }
            return;
        }
        self.master = Some(from);
        if adv.priority < self.priority && self.may_preempt(now) {
            // Ignore the lower master; our master-down timer will fire.
            return;
        }
        if adv.priority >= self.priority {
            self.preempt_from = None;
        }
        self.resigned_by = None;
        self.learn_interval(&adv);
        self.master_down_at = Some(later(now, self.master_down_interval()));
    }

    pub(super) fn note_master(&mut self, from: IpAddr, priority: u8) {
        if priority == 0 {
            if self.master == Some(from) {
                self.master = None;
            }
        } else {
            self.master = Some(from);
        }
    }

    /// Whether a lower-priority advert may be ignored (preempting its sender).
    /// The preempt delay runs from the first lower-priority advert seen and is
    /// reset by any advert at least as good as ours (keepalived's behaviour).
    pub(super) fn may_preempt(&mut self, now: Instant) -> bool {
        let wanted = self.cfg.preempt || self.priority == 255;
        let no_hold = self.hold_until.map_or(true, |t| now >= t);
        if !(wanted && no_hold) {
            return false;
        }
        if self.cfg.preempt_delay.is_zero() {
            return true;
        }
        match self.preempt_from {
            Some(t) => now >= t,
            None => {
                self.preempt_from = Some(later(now, self.cfg.preempt_delay));
                false
            }
        }
    }

    pub(super) fn learn_interval(&mut self, adv: &Advert) {
        if self.cfg.version == Version::V3 && adv.max_advert_int_cs > 0 {
            self.master_adver_int = interval_of_cs(adv.max_advert_int_cs);
        }
    }
}
