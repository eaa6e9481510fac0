//! BFD Control packet codec (RFC 5880 §4.1, version 1, mandatory section).
//!
//! Only sessions without authentication are supported: a packet with the
//! Authentication Present (A) bit set is rejected with
//! [`DecodeError::AuthenticationPresent`], which is what RFC 5880 §6.8.6
//! requires of a session whose `bfd.AuthType` is zero. FRR's bfdd, BIRD and
//! keepalived default to no authentication too.
//!
//! Decoding applies every check of §6.8.6 that can be judged from the packet
//! alone, in the RFC's order, and returns one [`DecodeError`] variant per
//! reason with a stable label ([`DecodeError::reason`]) for the shell's
//! "dropped by reason" counters. The checks that need context (the received
//! TTL / hop limit of RFC 5881 §5, a Your Discriminator that selects no
//! session) have variants here too, so the whole label set lives in one place.
//!
//! Nothing here panics on any input: every read is bounds-checked.

use std::fmt;

/// UDP destination port of single-hop BFD Control packets (RFC 5881 §4).
pub const PORT_SINGLE_HOP: u16 = 3784;
/// UDP destination port of multihop BFD Control packets (RFC 5883 §5).
pub const PORT_MULTIHOP: u16 = 4784;
/// First UDP source port a session may use (RFC 5881 §4: 49152 through 65535).
pub const SOURCE_PORT_MIN: u16 = 49152;
/// Last UDP source port a session may use.
pub const SOURCE_PORT_MAX: u16 = 65535;
/// TTL / hop limit every single-hop packet is sent with and, without
/// authentication, must be received with (RFC 5881 §5).
pub const REQUIRED_TTL: u8 = 255;
/// The protocol version this codec speaks (RFC 5880 §4.1).
pub const VERSION: u8 = 1;
/// Length of the mandatory section, the whole packet without authentication.
pub const MANDATORY_LEN: usize = 24;
/// Smallest packet length with the A bit set (mandatory section + 2 bytes of
/// authentication header), for the §6.8.6 length check.
pub const MIN_LEN_WITH_AUTH: usize = 26;

/// The session state carried in the Sta field (RFC 5880 §4.1), also the
/// local `bfd.SessionState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SessionState {
    /// Held down by the operator; the remote end must not consider the path failed.
    AdminDown = 0,
    /// No session, or it went down.
    Down = 1,
    /// Talking to the remote end, not yet sure it hears us.
    Init = 2,
    /// Both ends hear each other.
    Up = 3,
}

impl SessionState {
    /// The state from the two-bit field.
    pub fn from_bits(bits: u8) -> SessionState {
        match bits & 0x03 {
            0 => SessionState::AdminDown,
            1 => SessionState::Down,
            2 => SessionState::Init,
            _ => SessionState::Up,
        }
    }

    /// The lower-case name used in logs, status and metrics labels
    /// (FRR's spelling: `admin-down`, `down`, `init`, `up`).
    pub fn as_str(self) -> &'static str {
        match self {
            SessionState::AdminDown => "admin-down",
            SessionState::Down => "down",
            SessionState::Init => "init",
            SessionState::Up => "up",
        }
    }
}

impl fmt::Display for SessionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Diagnostic code (RFC 5880 §4.1 "Diag"): why the sender's session last
/// changed state. Unassigned values (9–31) survive a round trip as `Unassigned`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Diag {
    /// 0: No Diagnostic.
    None,
    /// 1: Control Detection Time Expired: the peer went silent.
    ControlDetectionTimeExpired,
    /// 2: Echo Function Failed.
    EchoFunctionFailed,
    /// 3: Neighbor Signaled Session Down.
    NeighborSignaledDown,
    /// 4: Forwarding Plane Reset.
    ForwardingPlaneReset,
    /// 5: Path Down.
    PathDown,
    /// 6: Concatenated Path Down.
    ConcatenatedPathDown,
    /// 7: Administratively Down.
    AdministrativelyDown,
    /// 8: Reverse Concatenated Path Down.
    ReverseConcatenatedPathDown,
    /// 9–31: reserved for future use; kept as received.
    Unassigned(u8),
}

impl Diag {
    /// The diagnostic from the five-bit field.
    pub fn from_code(code: u8) -> Diag {
        match code & 0x1f {
            0 => Diag::None,
            1 => Diag::ControlDetectionTimeExpired,
            2 => Diag::EchoFunctionFailed,
            3 => Diag::NeighborSignaledDown,
            4 => Diag::ForwardingPlaneReset,
            5 => Diag::PathDown,
            6 => Diag::ConcatenatedPathDown,
            7 => Diag::AdministrativelyDown,
            8 => Diag::ReverseConcatenatedPathDown,
            other => Diag::Unassigned(other),
        }
    }

    /// The five-bit code on the wire.
    pub fn code(self) -> u8 {
        match self {
            Diag::None => 0,
            Diag::ControlDetectionTimeExpired => 1,
            Diag::EchoFunctionFailed => 2,
            Diag::NeighborSignaledDown => 3,
            Diag::ForwardingPlaneReset => 4,
            Diag::PathDown => 5,
            Diag::ConcatenatedPathDown => 6,
            Diag::AdministrativelyDown => 7,
            Diag::ReverseConcatenatedPathDown => 8,
            Diag::Unassigned(c) => c & 0x1f,
        }
    }
}

impl fmt::Display for Diag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Diag::None => "no diagnostic",
            Diag::ControlDetectionTimeExpired => "control detection time expired",
            Diag::EchoFunctionFailed => "echo function failed",
            Diag::NeighborSignaledDown => "neighbor signaled session down",
            Diag::ForwardingPlaneReset => "forwarding plane reset",
            Diag::PathDown => "path down",
            Diag::ConcatenatedPathDown => "concatenated path down",
            Diag::AdministrativelyDown => "administratively down",
            Diag::ReverseConcatenatedPathDown => "reverse concatenated path down",
            Diag::Unassigned(c) => return write!(f, "unassigned diagnostic {c}"),
        };
        f.write_str(s)
    }
}

/// A BFD Control packet without authentication: the mandatory section of
/// RFC 5880 §4.1.
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |Vers |  Diag   |Sta|P|F|C|A|D|M|  Detect Mult  |    Length     |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                       My Discriminator                        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                      Your Discriminator                       |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                    Desired Min TX Interval                    |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                   Required Min RX Interval                    |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                 Required Min Echo RX Interval                 |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
/// Intervals are in microseconds. The A (authentication present) and M
/// (multipoint) bits are always zero here: decoding rejects them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ControlPacket {
    /// Why the sender's session last changed state.
    pub diag: Diag,
    /// The sender's `bfd.SessionState`.
    pub state: SessionState,
    /// P: the sender asks for a Final (a parameter change is being verified).
    pub poll: bool,
    /// F: the answer to a Poll.
    pub final_: bool,
    /// C: the sender's BFD does not share fate with its control plane.
    pub control_plane_independent: bool,
    /// D: the sender wants Demand mode.
    pub demand: bool,
    /// The sender's `bfd.DetectMult` (never 0 in a valid packet).
    pub detect_mult: u8,
    /// The sender's discriminator for this session (never 0 in a valid packet).
    pub my_discriminator: u32,
    /// The sender's copy of our discriminator, 0 while it does not know it.
    pub your_discriminator: u32,
    /// `bfd.DesiredMinTxInterval` of the sender, µs.
    pub desired_min_tx_us: u32,
    /// `bfd.RequiredMinRxInterval` of the sender, µs (0: send me nothing).
    pub required_min_rx_us: u32,
    /// Required Min Echo RX Interval, µs (0: the sender does not do echo).
    pub required_min_echo_rx_us: u32,
}

/// Why a received BFD Control packet was dropped. One variant per reason,
/// each with a stable label ([`DecodeError::reason`]) for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Fewer bytes than the 24-byte mandatory section.
    #[error("packet truncated: {len} bytes, need at least 24")]
    Truncated {
        /// Bytes received.
        len: usize,
    },
    /// The version field is not 1.
    #[error("unsupported BFD version {0}")]
    BadVersion(u8),
    /// The Length field is below the minimum (24, or 26 with the A bit) or
    /// beyond the received payload.
    #[error("bad length field {field} for a {received}-byte payload")]
    BadLength {
        /// The Length field.
        field: u8,
        /// Bytes received.
        received: usize,
    },
    /// Detect Mult is zero.
    #[error("detect multiplier 0")]
    ZeroDetectMult,
    /// The Multipoint (M) bit is set.
    #[error("multipoint bit set")]
    Multipoint,
    /// My Discriminator is zero.
    #[error("my discriminator 0")]
    ZeroMyDiscriminator,
    /// Your Discriminator is zero while the sender is Init or Up.
    #[error("your discriminator 0 in state {0}")]
    ZeroYourDiscriminator(SessionState),
    /// The A bit is set: this implementation runs sessions without
    /// authentication only, so §6.8.6 says discard.
    #[error("authentication present, but sessions run without authentication")]
    AuthenticationPresent,
    /// Received with a TTL / hop limit other than 255 (RFC 5881 §5).
    #[error("received with TTL/hop limit {0}, need 255")]
    BadTtl(u8),
    /// Your Discriminator selects no session (RFC 5880 §6.8.6), or the
    /// packet came from an address no session is configured for.
    #[error("no session for discriminator {0}")]
    BadDiscriminator(u32),
}

impl DecodeError {
    /// Every label [`DecodeError::reason`] can return.
    pub const ALL_REASONS: [&'static str; 10] = [
        "truncated",
        "bad_version",
        "bad_length",
        "zero_detect_mult",
        "multipoint",
        "zero_my_discriminator",
        "zero_your_discriminator",
        "authentication",
        "bad_ttl",
        "bad_discriminator",
    ];

    /// A stable label for the "dropped by reason" counter.
    pub fn reason(&self) -> &'static str {
        let i = match self {
            DecodeError::Truncated { .. } => 0,
            DecodeError::BadVersion(_) => 1,
            DecodeError::BadLength { .. } => 2,
            DecodeError::ZeroDetectMult => 3,
            DecodeError::Multipoint => 4,
            DecodeError::ZeroMyDiscriminator => 5,
            DecodeError::ZeroYourDiscriminator(_) => 6,
            DecodeError::AuthenticationPresent => 7,
            DecodeError::BadTtl(_) => 8,
            DecodeError::BadDiscriminator(_) => 9,
        };
        Self::ALL_REASONS[i]
    }
}

const BIT_POLL: u8 = 0x20;
const BIT_FINAL: u8 = 0x10;
const BIT_CPI: u8 = 0x08;
const BIT_AUTH: u8 = 0x04;
const BIT_DEMAND: u8 = 0x02;
const BIT_MULTIPOINT: u8 = 0x01;

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Decodes the UDP payload of a BFD Control packet, applying the
/// packet-only checks of RFC 5880 §6.8.6 in order. Bytes past the Length
/// field (padding) are ignored.
pub fn decode(payload: &[u8]) -> Result<ControlPacket, DecodeError> {
    if payload.len() < MANDATORY_LEN {
        return Err(DecodeError::Truncated { len: payload.len() });
    }
    let version = payload[0] >> 5;
    if version != VERSION {
        return Err(DecodeError::BadVersion(version));
    }
    let flags = payload[1];
    let length = payload[3];
    let min_len = if flags & BIT_AUTH != 0 {
        MIN_LEN_WITH_AUTH
    } else {
        MANDATORY_LEN
    };
    if usize::from(length) < min_len || usize::from(length) > payload.len() {
        return Err(DecodeError::BadLength {
            field: length,
            received: payload.len(),
        });
    }
    let packet = ControlPacket {
        diag: Diag::from_code(payload[0]),
        state: SessionState::from_bits(flags >> 6),
        poll: flags & BIT_POLL != 0,
        final_: flags & BIT_FINAL != 0,
        control_plane_independent: flags & BIT_CPI != 0,
        demand: flags & BIT_DEMAND != 0,
        detect_mult: payload[2],
        my_discriminator: be32(payload, 4),
        your_discriminator: be32(payload, 8),
        desired_min_tx_us: be32(payload, 12),
        required_min_rx_us: be32(payload, 16),
        required_min_echo_rx_us: be32(payload, 20),
    };
    if packet.detect_mult == 0 {
        return Err(DecodeError::ZeroDetectMult);
    }
    if flags & BIT_MULTIPOINT != 0 {
        return Err(DecodeError::Multipoint);
    }
    if packet.my_discriminator == 0 {
        return Err(DecodeError::ZeroMyDiscriminator);
    }
    if packet.your_discriminator == 0
        && !matches!(packet.state, SessionState::Down | SessionState::AdminDown)
    {
        return Err(DecodeError::ZeroYourDiscriminator(packet.state));
    }
    if flags & BIT_AUTH != 0 {
        return Err(DecodeError::AuthenticationPresent);
    }
    Ok(packet)
}

impl ControlPacket {
    /// The 24 bytes on the wire (A and M bits clear, Length 24).
    pub fn encode(&self) -> [u8; MANDATORY_LEN] {
        let mut b = [0u8; MANDATORY_LEN];
        b[0] = (VERSION << 5) | self.diag.code();
        let mut flags = (self.state as u8) << 6;
        for (set, bit) in [
            (self.poll, BIT_POLL),
            (self.final_, BIT_FINAL),
            (self.control_plane_independent, BIT_CPI),
            (self.demand, BIT_DEMAND),
        ] {
            if set {
                flags |= bit;
            }
        }
        b[1] = flags;
        b[2] = self.detect_mult;
        b[3] = MANDATORY_LEN as u8;
        for (i, v) in [
            self.my_discriminator,
            self.your_discriminator,
            self.desired_min_tx_us,
            self.required_min_rx_us,
            self.required_min_echo_rx_us,
        ]
        .into_iter()
        .enumerate()
        {
            b[4 + 4 * i..8 + 4 * i].copy_from_slice(&v.to_be_bytes());
        }
        b
    }
}
