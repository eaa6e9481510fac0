//! Facts a hook read from Juju that stay true until a hook announces their
//! change, remembered on the unit from one hook run to the next.
//!
//! Juju is built so that a charm need not poll: every change to config or to
//! a relation reaches the unit as a hook naming what changed. A fact that can
//! only change together with such a hook need not be read again in any other
//! hook. [`super::CachedTools`] keeps what a run read or wrote in a [`Facts`];
//! after a successful hook it is saved (JSON, written atomically, stamped with
//! [`FORMAT`]) and the next run starts from it, minus what that run's hook
//! says may have changed ([`rules::forget`]).
//!
//! | Fact (hook tool)                          | Read again in                                                                                      |
//! |-------------------------------------------|----------------------------------------------------------------------------------------------------|
//! | config (`config-get`)                      | `config-changed`                                                                                    |
//! | relation ids of endpoint E (`relation-ids`) | `-created`, `-broken` of E; `-joined`, `-departed` of a relation of E they do not list (a Juju before 2.8 runs no `-created`) |
//! | units of relation R (`relation-list`)       | `-joined`, `-departed`, `-broken` of R; none in `-created` of R nor in `install` (no call: no unit has joined yet) |
//! | remote app of R (`relation-list --app`)     | `-created`, `-broken` of R                                                                          |
//! | remote unit U's bag in R (peers too)        | `-joined`, `-changed` of R with `JUJU_REMOTE_UNIT=U`; `-departed` of U; `-broken` of R            |
//! | remote app A's bag in R                     | `-created`, `-joined`, `-changed` of R (see below)                                                |
//! | our unit bag, our unit status, `state-get`  | never: only we write them, and we keep what we wrote                                               |
//! | our app bag, our app status                 | `leader-elected`, and whenever a run saw this unit not lead (only the leader writes them); empty in `-created` of a relation with another application (no call) |
//! | leadership (`is-leader`)                    | every run: it can move without a hook on this unit (leader-elected fires only on the new leader)   |
//! | addresses (`network-get`)                   | every run: a machine's addresses change without any hook                                           |
//! | services, packages (`systemctl`, `dpkg`)    | every run (not hook tools; see `charm::system`)                                                    |
//! | everything                                 | `upgrade-charm`, `post-series-upgrade`; a unit's first hook (`install`: no file yet); the first run an hour or more after the last full read (normally an `update-status`); a missing, unreadable or older-format file, or one another unit kept |
//!
//! Juju's side of this (its docs on hooks): `config-changed` follows every
//! `juju config` and also `install` and `upgrade-charm`; `relation-created`
//! runs first of a relation's hooks, before any remote unit joins;
//! `relation-changed` fires for every change of a remote unit's data with
//! `JUJU_REMOTE_UNIT` set to that unit (peers included: a peer's
//! `relation-set` fires it on every other peer that has it joined), and
//! (Juju 2.7 on) once per change of the remote leader's application data
//! with `JUJU_REMOTE_APP` set and `JUJU_REMOTE_UNIT` empty; a `-changed`
//! always follows each `-joined`; `relation-list` lists a remote unit from
//! its `-joined` on; `-departed` runs once per leaving unit, which
//! `relation-list` no longer lists; `-broken` runs once when the relation is
//! gone, though `relation-ids` still lists it during that hook (so a
//! `-broken` run remembers neither). `install` reads everything on a new
//! unit (there is no file yet); run again on a unit that is up, it trusts
//! what this unit kept, like any other hook. `start` does not read
//! everything again: it follows `install` or a reboot, after which Juju
//! still runs every hook the unit is owed. Ids and members are not read in `-changed`:
//! Juju never changes them there (the simulated model runs a `-created` or
//! `-joined` a test skipped before the `-changed` it asks for). The remote
//! application's bag
//! is read again in every `-changed` of its relation, not only in those with
//! `JUJU_REMOTE_UNIT` empty: a Juju older than 2.7, or a peer of ours acting
//! on unit and application data in one go, would otherwise leave it stale,
//! and it costs one read where a change is announced anyway.
//!
//! A status is only sent when it differs from the one we last sent: the unit
//! status is ours alone, and the full read at `upgrade-charm` and
//! hourly sets it again in case Juju replaced it (it does at install and on
//! removal). Hooks and actions of a unit never overlap, so the file has one
//! writer at a time. It is written only after a run succeeded (Juju throws
//! away the relation writes of a failed hook, so the file's older bags stay
//! right) and only when its content changed, so a hook run again rewrites
//! nothing. A run deletes it before sending a status the file does not hold,
//! so a hook that fails after that leaves the next to read everything. A
//! failed hook is retried by Juju with the same signal; one skipped with
//! `juju resolved --no-retry` loses it until the hourly full read.

mod model;
mod rules;
mod store;

pub use model::{Facts, FORMAT};
pub use rules::{after_run, forget, nobody_joined, Recall, FULL_READ_EVERY};
pub use store::{load, remove, save, Loaded};
