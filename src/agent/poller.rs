//! Readiness of the event loop's file descriptors, through epoll(7), with a
//! nanosecond timeout.
//!
//! Why epoll and not ppoll(2): ppoll registers every descriptor with the
//! kernel on each call and unregisters it on return. The loop wakes for every
//! advert, so that work (about a fifth of a backup's CPU time with six
//! descriptors) was paid ten times a second per instance. With epoll the
//! descriptors are registered once; a wake-up costs one epoll_pwait2(2).
//!
//! Why epoll_pwait2 through syscall(2): protocol timers need a timeout finer
//! than the milliseconds of epoll_wait(2), and glibc only wraps
//! epoll_pwait2 from 2.35 on, newer than the oldest glibc the charm supports.
//! On kernels before 5.11 (ENOSYS), or under a seccomp filter that does not
//! know the call yet (EPERM: systemd's `SystemCallFilter=@system-service`
//! before systemd 248, as in our unit file), the loop falls back to
//! epoll_wait with the timeout rounded up to the next millisecond (never
//! early).
//!
//! Level-triggered, like ppoll: a descriptor with data left is reported again.
//! A closed descriptor leaves the set by itself (epoll drops a file when its
//! last descriptor is closed), so dropping a socket is enough.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

use nix::libc;

/// Events read per wait; more ready descriptors are reported by the next one.
const EVENTS: usize = 32;

/// An epoll instance and the buffer its events are read into.
pub struct Poller {
    epfd: OwnedFd,
    events: Vec<libc::epoll_event>,
    pwait2: bool,
}

fn cvt(rc: libc::c_long) -> io::Result<libc::c_long> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

impl Poller {
    /// A new, empty epoll set (close-on-exec).
    pub fn new() -> io::Result<Poller> {
        // SAFETY: plain system call; the returned descriptor is owned below.
        let fd = cvt(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) }.into())?;
        Ok(Poller {
            // SAFETY: `fd` is a fresh descriptor nobody else owns.
            epfd: unsafe { OwnedFd::from_raw_fd(fd as RawFd) },
            events: vec![libc::epoll_event { events: 0, u64: 0 }; EVENTS],
            pwait2: true,
        })
    }

    /// Watches `fd` for input; `token` comes back when it is ready.
    pub fn add(&self, fd: RawFd, token: u64) -> io::Result<()> {
        let mut ev = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: token,
        };
        // SAFETY: `ev` is a live epoll_event; the kernel copies it.
        cvt(
            unsafe { libc::epoll_ctl(self.epfd.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &mut ev) }
                .into(),
        )?;
        Ok(())
    }

    /// Waits until a watched descriptor is ready or `timeout` passes (None:
    /// no timeout), and puts the tokens of the ready ones in `ready`
    /// (cleared first). An interrupted wait returns with `ready` empty.
    pub fn wait(&mut self, timeout: Option<Duration>, ready: &mut Vec<u64>) -> io::Result<()> {
        ready.clear();
        let n = loop {
            let rc = if self.pwait2 {
                let ts = timeout.map(|d| libc::timespec {
                    tv_sec: d.as_secs().min(i64::MAX as u64) as libc::time_t,
                    tv_nsec: d.subsec_nanos() as libc::c_long,
                });
                let tsp = ts
                    .as_ref()
                    .map_or(std::ptr::null(), |t| t as *const libc::timespec);
                // SAFETY: `events` is a live buffer of EVENTS entries; `tsp`
                // is null or points to a live timespec; no signal mask.
                unsafe {
                    libc::syscall(
                        libc::SYS_epoll_pwait2,
                        self.epfd.as_raw_fd(),
                        self.events.as_mut_ptr(),
                        EVENTS as libc::c_int,
                        tsp,
                        std::ptr::null::<libc::sigset_t>(),
                        0usize,
                    )
                }
            } else {
                let ms = timeout.map_or(-1, |d| {
                    let ms = d.as_nanos().div_ceil(1_000_000);
                    ms.min(i32::MAX as u128) as libc::c_int
                });
                // SAFETY: `events` is a live buffer of EVENTS entries.
                unsafe {
                    libc::epoll_wait(
                        self.epfd.as_raw_fd(),
                        self.events.as_mut_ptr(),
                        EVENTS as libc::c_int,
                        ms,
                    )
                }
                .into()
            };
            match cvt(rc) {
                Ok(n) => break n as usize,
                // epoll_pwait2 has no EPERM of its own: that is a seccomp
                // filter refusing it.
                Err(e)
                    if self.pwait2
                        && matches!(e.raw_os_error(), Some(libc::ENOSYS | libc::EPERM)) =>
                {
                    self.pwait2 = false;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(()),
                Err(e) => return Err(e),
            }
        };
        ready.extend(self.events.iter().take(n.min(EVENTS)).map(|e| e.u64));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::net::UnixStream;
    use std::time::Instant;

    #[test]
    fn reports_ready_tokens_and_keeps_reporting_until_drained() {
        let mut p = Poller::new().unwrap();
        let (mut a, b) = UnixStream::pair().unwrap();
        let (_c, d) = UnixStream::pair().unwrap();
        p.add(b.as_raw_fd(), 7).unwrap();
        p.add(d.as_raw_fd(), 9).unwrap();
        let mut ready = Vec::new();
        p.wait(Some(Duration::ZERO), &mut ready).unwrap();
        assert!(ready.is_empty(), "{ready:?}");
        a.write_all(b"x").unwrap();
        p.wait(Some(Duration::from_secs(5)), &mut ready).unwrap();
        assert_eq!(ready, vec![7]);
        // Level-triggered: still readable, still reported.
        p.wait(Some(Duration::ZERO), &mut ready).unwrap();
        assert_eq!(ready, vec![7]);
    }

    #[test]
    fn a_closed_descriptor_leaves_the_set() {
        let mut p = Poller::new().unwrap();
        let (mut a, b) = UnixStream::pair().unwrap();
        p.add(b.as_raw_fd(), 1).unwrap();
        a.write_all(b"x").unwrap();
        drop(b);
        let mut ready = Vec::new();
        p.wait(Some(Duration::ZERO), &mut ready).unwrap();
        assert!(ready.is_empty(), "{ready:?}");
    }

    #[test]
    fn the_epoll_wait_fallback_reports_and_never_times_out_early() {
        let mut p = Poller::new().unwrap();
        p.pwait2 = false;
        let (mut a, b) = UnixStream::pair().unwrap();
        p.add(b.as_raw_fd(), 5).unwrap();
        let mut ready = Vec::new();
        let t0 = Instant::now();
        p.wait(Some(Duration::from_micros(300)), &mut ready)
            .unwrap();
        assert!(t0.elapsed() >= Duration::from_micros(300), "rounded down");
        assert!(ready.is_empty());
        a.write_all(b"x").unwrap();
        p.wait(None, &mut ready).unwrap();
        assert_eq!(ready, vec![5]);
    }

    #[test]
    fn times_out_after_a_sub_millisecond_timeout_and_not_before() {
        let mut p = Poller::new().unwrap();
        let (_a, b) = UnixStream::pair().unwrap();
        p.add(b.as_raw_fd(), 1).unwrap();
        let mut ready = vec![42];
        let t0 = Instant::now();
        p.wait(Some(Duration::from_micros(300)), &mut ready)
            .unwrap();
        assert!(t0.elapsed() >= Duration::from_micros(300));
        assert!(ready.is_empty());
    }
}
