//! What a ready file descriptor belongs to, and its poll token.
//!
//! Why tokens: epoll hands back one `u64` per ready descriptor; encoding the
//! kind of source in it lets the loop dispatch without a lookup table, and
//! sorting the tokens gives a stable order for sources that are ready
//! together. A new kind of source (e.g. a BFD UDP socket) gets a variant and a
//! tag bit of its own here; nothing else in the encoding changes.

/// What a ready file descriptor belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Source {
    Signal,
    Netlink,
    Wake,
    Control,
    /// A control connection, by its id.
    Conn(u64),
    /// A VRRP socket, by (ifindex, IPv6).
    Vrrp(u32, bool),
    /// A BFD listener (UDP 3784), by its id.
    Bfd(u32),
}

const CONN_TAG: u64 = 1 << 40;
const VRRP_TAG: u64 = 1 << 48;
const BFD_TAG: u64 = 1 << 44;

// ===== impl Source =====

impl Source {
    /// The poll token: ascending tokens give the order in which ready
    /// sources are handled when nothing else decides (signals, netlink,
    /// check reports, control socket, connections oldest first, VRRP).
    pub(super) fn token(self) -> u64 {
        match self {
            Source::Signal => 0,
            Source::Netlink => 1,
            Source::Wake => 2,
            Source::Control => 3,
            Source::Conn(id) => CONN_TAG | (id & (CONN_TAG - 1)),
            Source::Vrrp(ifindex, v6) => VRRP_TAG | (u64::from(v6) << 32) | u64::from(ifindex),
            Source::Bfd(id) => BFD_TAG | u64::from(id),
        }
    }

    /// The source a token returned by the poller stands for.
    pub(super) fn from_token(t: u64) -> Option<Source> {
        Some(match t {
            0 => Source::Signal,
            1 => Source::Netlink,
            2 => Source::Wake,
            3 => Source::Control,
            t if t & VRRP_TAG != 0 => Source::Vrrp(t as u32, t & (1 << 32) != 0),
            t if t & BFD_TAG != 0 => Source::Bfd(t as u32),
            t if t & CONN_TAG != 0 => Source::Conn(t & (CONN_TAG - 1)),
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_source_round_trips_through_its_token() {
        for s in [
            Source::Signal,
            Source::Netlink,
            Source::Wake,
            Source::Control,
            Source::Conn(0),
            Source::Conn(12345),
            Source::Vrrp(2, false),
            Source::Vrrp(u32::MAX, true),
            Source::Bfd(0),
            Source::Bfd(u32::MAX),
        ] {
            assert_eq!(Source::from_token(s.token()), Some(s));
        }
    }

    #[test]
    fn signals_sort_before_connections_and_vrrp() {
        assert!(Source::Signal.token() < Source::Control.token());
        assert!(Source::Control.token() < Source::Conn(0).token());
        assert!(Source::Conn(u64::MAX).token() < Source::Vrrp(0, false).token());
    }
}
