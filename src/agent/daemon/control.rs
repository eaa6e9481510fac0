//! The control socket: what `k8s-vip status|failover|pause|resume` and the
//! charm's actions ask the running agent, and the answers.
//!
//! Why in the loop: every request changes or reads protocol state, so it is
//! answered on the loop's thread, in order with adverts and timers. A request
//! is one JSON line (`{"cmd": "status"}`), the answer one JSON line with
//! `"ok"`; errors say what to send instead.

use std::io;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::conn::Conn;
use super::source::Source;
use super::state::{Daemon, Exit};
use crate::agent::log::{info, warn};
use crate::vrrp::router::{Event, State};

/// How long `step-down` holds off when the request names no `hold-s`.
const DEFAULT_HOLD_S: f64 = 60.0;

impl Daemon {
    /// Accepts every pending connection and watches it for its request.
    pub(super) fn on_control_accept(&mut self) {
        while let Ok((stream, _)) = self.control.accept() {
            let _ = stream.set_nonblocking(true);
            let id = self.next_conn;
            self.next_conn += 1;
            if let Err(e) = self
                .poller
                .add(stream.as_raw_fd(), Source::Conn(id).token())
            {
                warn(&format!("control socket: cannot watch a connection: {e}"));
                continue;
            }
            self.conns.push(Conn::new(id, stream));
        }
    }

    /// Reads from connection `id`; answers once its request line is complete.
    pub(super) fn on_conn_readable(&mut self, id: u64, now: Instant) {
        let Some(i) = self.conns.iter().position(|c| c.id == id && !c.done) else {
            return;
        };
        let Some(line) = self.conns[i].read_request() else {
            return;
        };
        let reply = match serde_json::from_str::<Value>(&line) {
            Ok(req) => self.handle_request(&req, now),
            Err(e) => json!({"ok": false, "error": format!("request is not JSON: {e}")}),
        };
        self.conns[i].reply(&reply);
    }

    fn handle_request(&mut self, req: &Value, now: Instant) -> Value {
        match req["cmd"].as_str() {
            Some("status") => {
                let mut doc = self.status_doc();
                if let Some(m) = doc.as_object_mut() {
                    m.insert("ok".into(), json!(true));
                }
                doc
            }
            Some("step-down") => match hold_of(req) {
                Ok(hold) => self.step_down(hold, now),
                Err(e) => e,
            },
            Some("pause") => self.pause(now),
            Some("resume") => self.resume(now),
            Some("handover") => {
                info("handover requested: exiting without releasing VIPs; the next agent adopts them");
                self.exit = Some(Exit::Handover);
                json!({"ok": true})
            }
            Some(other) => {
                json!({"ok": false, "error": format!("unknown command {other:?}; use status, step-down, pause, resume or handover")})
            }
            None => json!({"ok": false, "error": "request needs a \"cmd\" string"}),
        }
    }

    /// `step-down`: every instance we are master of sends priority 0 and
    /// holds off for `hold` seconds.
    fn step_down(&mut self, hold: f64, now: Instant) -> Value {
        let masters: Vec<usize> = (0..self.instances.len())
            .filter(|&i| self.instances[i].router.state() == State::Master)
            .collect();
        if masters.is_empty() {
            let master = self
                .instances
                .iter()
                .find_map(|i| i.router.master())
                .map(|m| m.to_string())
                .unwrap_or_else(|| "unknown".into());
            return json!({"ok": false, "error": format!("not master of any instance; master is {master}")});
        }
        let mut names = Vec::new();
        for idx in masters {
            names.push(self.instances[idx].cfg.name.clone());
            info(&format!(
                "instance {}: step-down requested, holding off for {hold} s",
                self.instances[idx].cfg.name
            ));
            let hold = Duration::from_secs_f64(hold);
            self.feed(idx, Event::StepDown { hold }, now);
            self.bfd_admin_down(Some(idx), true, now);
        }
        json!({"ok": true, "stepped-down": names})
    }

    /// `pause`: writes the pause file (so a restart stays paused) and takes
    /// every started instance out of elections.
    fn pause(&mut self, now: Instant) -> Value {
        if let Err(e) = self.write_pause_file() {
            return json!({"ok": false, "error": format!("cannot create the pause file {}: {e}", self.config.pause_file.display())});
        }
        if !self.paused {
            info("paused by operator: releasing VIPs, staying out of elections");
        }
        self.paused = true;
        self.feed_started(Event::Pause, now);
        json!({"ok": true})
    }

    /// `resume`: removes the pause file and lets every instance run again.
    fn resume(&mut self, now: Instant) -> Value {
        match std::fs::remove_file(&self.config.pause_file) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => {
                return json!({"ok": false, "error": format!("cannot remove the pause file {}: {e}", self.config.pause_file.display())})
            }
        }
        if self.paused {
            info("resumed by operator");
        }
        self.paused = false;
        self.feed_started(Event::Resume, now);
        json!({"ok": true})
    }

    fn write_pause_file(&self) -> io::Result<()> {
        if let Some(dir) = self.config.pause_file.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&self.config.pause_file, "paused by k8s-vip pause\n")
    }
}

/// The `hold-s` of a step-down request, or the error answer.
fn hold_of(req: &Value) -> Result<f64, Value> {
    match &req["hold-s"] {
        Value::Null => Ok(DEFAULT_HOLD_S),
        v => match v.as_f64() {
            Some(h) if (0.0..=86_400.0).contains(&h) => Ok(h),
            _ => Err(
                json!({"ok": false, "error": "hold-s must be a number of seconds between 0 and 86400"}),
            ),
        },
    }
}
