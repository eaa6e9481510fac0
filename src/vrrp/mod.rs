//! The VRRP protocol (RFC 5798 v3, RFC 3768 v2), with no I/O and no clock.
