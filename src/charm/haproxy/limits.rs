//! The bounds on every number and count a consumer request can set, so that
//! whatever it sends renders into a haproxy.cfg HAProxy accepts.
//!
//! HAProxy keeps timers as 32-bit milliseconds: anything past 2^31 - 1 ms
//! (about 24.8 days) is a "timer overflow" parse error and the whole file is
//! refused. `fall`/`rise`/`error-limit` are C ints. The bounds below are far
//! inside both and still far above anything useful (kubernetes-control-plane
//! asks for a 30 s interval and 3 retries):
//!
//! | value                               | accepted      |
//! |-------------------------------------|---------------|
//! | health check `interval` (seconds)   | 1 – 3600      |
//! | health check `retries`              | 1 – 100       |
//! | health checks per request           | at most 8     |
//! | health check `path` length          | at most 256   |
//! | ports (frontend, backend, check)    | 1 – 65535     |
//! | ports per request                   | at most 32    |
//! | backends per request                | at most 64    |
//! | proxied ports per relation          | at most 64    |
//! | request name length                 | at most 100   |

/// Longest interval between two checks of a backend, in seconds.
pub const MAX_CHECK_INTERVAL_S: u32 = 3600;
/// Most consecutive failures before a backend is taken out.
pub const MAX_CHECK_RETRIES: u32 = 100;
/// Most health checks in one request.
pub const MAX_HEALTH_CHECKS_PER_REQUEST: usize = 8;
/// Longest health check path.
pub const MAX_CHECK_PATH_LEN: usize = 256;
/// Most ports (`port_mapping` entries) in one request.
pub const MAX_PORTS_PER_REQUEST: usize = 32;
/// Most backends listed in one request.
pub const MAX_BACKENDS_PER_REQUEST: usize = 64;
/// Most ports HAProxy serves for one relation (all its requests together).
pub const MAX_PORTS_PER_RELATION: usize = 64;
/// Longest request name (it becomes part of HAProxy proxy names).
pub const MAX_NAME_LEN: usize = 100;
