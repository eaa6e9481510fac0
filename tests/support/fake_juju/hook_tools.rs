//! The fake Juju hook tools: the same names, flags, output and error messages
//! as Juju's, backed by the model state file.

use std::io::Read;

use serde_json::{Map, Value};

use crate::args::{parse, Flag, Parsed, APP, FILE, FORMAT, RELATION};
use crate::state::{self, ActionState, Bag, LogLine, ModelState, Relation, StatusEntry, UnitState};
use crate::{Ctx, Fail, Out};

/// Runs hook tool `tool`.
pub fn run(ctx: &Ctx, tool: &str, args: &[String]) -> Out {
    match tool {
        "config-get" => config_get(ctx, args),
        "relation-ids" => relation_ids(ctx, args),
        "relation-list" => relation_list(ctx, args),
        "relation-get" => relation_get(ctx, args),
        "relation-set" => relation_set(ctx, args),
        "network-get" => network_get(ctx, args),
        "status-set" => status_set(ctx, args),
        "status-get" => status_get(ctx, args),
        "application-version-set" => application_version_set(ctx, args),
        "is-leader" => is_leader(ctx, args),
        "goal-state" => goal_state(ctx, args),
        "action-get" => action_get(ctx, args),
        "action-set" => action_set(ctx, args),
        "action-fail" => action_fail(ctx, args),
        "action-log" => action_log(ctx, args),
        "juju-log" => juju_log(ctx, args),
        "open-port" => ports(ctx, args, true),
        "close-port" => ports(ctx, args, false),
        "opened-ports" => opened_ports(ctx, args),
        "state-get" => state_get(ctx, args),
        "state-set" => state_set(ctx, args),
        "state-delete" => state_delete(ctx, args),
        other => Err(Fail::raw(
            format!("{other}: not provided by the simulated Juju model\n"),
            127,
        )),
    }
}

// ===== helpers =====

fn read(ctx: &Ctx) -> Result<ModelState, Fail> {
    state::read_state(&ctx.model_dir).map_err(Fail::error)
}

fn update<R>(
    ctx: &Ctx,
    change: impl FnOnce(&mut ModelState) -> Result<R, Fail>,
) -> Result<R, Fail> {
    let mut failure = None;
    let out = state::update_state(&ctx.model_dir, |model| {
        change(model).map_err(|f| {
            let text = f.stderr.clone();
            failure = Some(f);
            text
        })
    });
    match (out, failure) {
        (Ok(r), _) => Ok(r),
        (Err(_), Some(f)) => Err(f),
        (Err(e), None) => Err(Fail::error(e)),
    }
}

fn unit<'a>(model: &'a ModelState, ctx: &Ctx) -> Result<&'a UnitState, Fail> {
    model
        .units
        .get(&ctx.unit)
        .ok_or_else(|| Fail::error(format!("unit {:?} not found", ctx.unit)))
}

fn unit_mut<'a>(model: &'a mut ModelState, ctx: &Ctx) -> Result<&'a mut UnitState, Fail> {
    model
        .units
        .get_mut(&ctx.unit)
        .ok_or_else(|| Fail::error(format!("unit {:?} not found", ctx.unit)))
}

/// JSON output as Juju prints it (one document and a newline).
fn json(value: &impl serde::Serialize) -> Out {
    let mut text = serde_json::to_string(value).map_err(Fail::error)?;
    text.push('\n');
    Ok(text)
}

/// Prints `value` in the requested format: json, or "smart" (plain) text.
fn formatted(args: &Parsed, value: &Value) -> Out {
    match args.get("format").unwrap_or("smart") {
        "json" => json(value),
        "smart" | "yaml" => Ok(match value {
            Value::String(s) => format!("{s}\n"),
            Value::Null => String::new(),
            // Juju's "smart" format prints booleans the way Python does.
            Value::Bool(true) => "True\n".into(),
            Value::Bool(false) => "False\n".into(),
            other => format!("{other}\n"),
        }),
        other => Err(Fail::usage(format!(
            "invalid value \"{other}\" for option --format: unknown format"
        ))),
    }
}

fn no_more(args: &Parsed, max: usize) -> Result<(), Fail> {
    match args.pos.get(max) {
        Some(extra) => Err(Fail::usage(format!("unrecognized args: [\"{extra}\"]"))),
        None => Ok(()),
    }
}

fn peer_units(model: &ModelState, except: &str) -> Vec<String> {
    model
        .units
        .keys()
        .filter(|u| *u != except)
        .cloned()
        .collect()
}

/// The remote units `unit` sees in `rel`.
fn members(model: &ModelState, rel: &Relation, unit: &str) -> Vec<String> {
    if rel.peer && rel.visible.is_none() {
        return peer_units(model, unit);
    }
    match &rel.visible {
        Some(visible) => visible.get(unit).cloned().unwrap_or_default(),
        None => rel.remote_units.clone(),
    }
}

/// Finds the relation named by `-r` (`endpoint:N` or `N`), else JUJU_RELATION_ID.
fn relation_index(model: &ModelState, ctx: &Ctx, args: &Parsed) -> Result<usize, Fail> {
    let given = args
        .get("relation")
        .map(str::to_string)
        .or_else(|| ctx.env("JUJU_RELATION_ID"));
    let Some(given) = given else {
        return Err(Fail::usage("no relation id specified"));
    };
    let (endpoint, number) = match given.rsplit_once(':') {
        Some((e, n)) => (Some(e), n),
        None => (None, given.as_str()),
    };
    let not_found = || {
        Fail::usage(format!(
            "invalid value \"{given}\" for option -r: relation not found"
        ))
    };
    let id: u32 = number.parse().map_err(|_| not_found())?;
    model
        .relations
        .iter()
        .position(|r| r.id == id && endpoint.is_none_or_eq(&r.endpoint))
        .ok_or_else(not_found)
}

/// `Option<&str>` equality where None matches anything.
trait NoneOrEq {
    fn is_none_or_eq(&self, other: &str) -> bool;
}

impl NoneOrEq for Option<&str> {
    fn is_none_or_eq(&self, other: &str) -> bool {
        match self {
            None => true,
            Some(s) => *s == other,
        }
    }
}

/// Reads `--file` input (a path or `-` for stdin) as a JSON or simple YAML map.
fn read_settings_file(ctx: &Ctx, file: &str) -> Result<Map<String, Value>, Fail> {
    let text = if file == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| Fail::error(format!("cannot read stdin: {e}")))?;
        text
    } else {
        let path = if file.starts_with('/') {
            std::path::PathBuf::from(file)
        } else {
            ctx.root.join(file)
        };
        std::fs::read_to_string(&path)
            .map_err(|e| Fail::error(format!("cannot read {file}: {e}")))?
    };
    if text.trim().is_empty() {
        return Ok(Map::new());
    }
    let value: Value = serde_json::from_str(&text).map_err(|e| {
        Fail::error(format!(
            "cannot parse settings (the simulated model reads JSON only): {e}"
        ))
    })?;
    match value {
        Value::Object(map) => Ok(map),
        Value::Null => Ok(Map::new()),
        _ => Err(Fail::error("settings must be a map")),
    }
}

/// key=value arguments plus `--file` input, as a bag of strings.
fn settings(ctx: &Ctx, args: &Parsed, tool: &str) -> Result<Bag, Fail> {
    let mut bag = Bag::new();
    if let Some(file) = args.get("file") {
        for (k, v) in read_settings_file(ctx, file)? {
            let v = match v {
                Value::String(s) => s,
                Value::Null => String::new(),
                other => {
                    return Err(Fail::error(format!(
                        "{tool}: value of {k:?} must be a string, got {other}"
                    )))
                }
            };
            bag.insert(k, v);
        }
    }
    for pair in &args.pos {
        let (k, v) = pair
            .split_once('=')
            .ok_or_else(|| Fail::usage(format!("expected \"key=value\", got {pair:?}")))?;
        if k.is_empty() {
            return Err(Fail::usage(format!("expected \"key=value\", got {pair:?}")));
        }
        bag.insert(k.to_string(), v.to_string());
    }
    Ok(bag)
}

fn apply_write(bag: &mut Bag, data: Bag) {
    for (k, v) in data {
        if v.is_empty() {
            bag.remove(&k);
        } else {
            bag.insert(k, v);
        }
    }
}

// ===== config =====

fn config_get(ctx: &Ctx, args: &[String]) -> Out {
    let args = parse(
        args,
        &[
            FORMAT,
            Flag {
                names: &["all", "a"],
                value: false,
            },
        ],
    )?;
    no_more(&args, 1)?;
    let model = read(ctx)?;
    let mut config = model.config_defaults.clone();
    for (k, v) in &model.config {
        config.insert(k.clone(), v.clone());
    }
    if !args.on("all") {
        config.retain(|_, v| !v.is_null());
    }
    match args.pos.first() {
        Some(key) => formatted(&args, config.get(key).unwrap_or(&Value::Null)),
        None => formatted(&args, &Value::Object(config)),
    }
}

// ===== relations =====

fn relation_ids(ctx: &Ctx, args: &[String]) -> Out {
    let args = parse(args, &[FORMAT])?;
    no_more(&args, 1)?;
    let endpoint = args
        .pos
        .first()
        .cloned()
        .or_else(|| ctx.env("JUJU_RELATION"))
        .ok_or_else(|| Fail::usage("no endpoint name specified"))?;
    let model = read(ctx)?;
    if !model.endpoints.contains(&endpoint) {
        return Err(Fail::error(format!(
            "invalid value \"{endpoint}\" for option: no endpoint named \"{endpoint}\""
        )));
    }
    let ids: Vec<String> = model
        .relations
        .iter()
        .filter(|r| r.endpoint == endpoint)
        .filter(|r| r.visible.as_ref().is_none_or_has(&ctx.unit))
        .map(Relation::key)
        .collect();
    formatted_list(&args, ids)
}

trait NoneOrHas {
    fn is_none_or_has(&self, unit: &str) -> bool;
}

impl NoneOrHas for Option<&std::collections::BTreeMap<String, Vec<String>>> {
    fn is_none_or_has(&self, unit: &str) -> bool {
        match self {
            None => true,
            Some(map) => map.contains_key(unit),
        }
    }
}

fn formatted_list(args: &Parsed, items: Vec<String>) -> Out {
    match args.get("format").unwrap_or("smart") {
        "json" => json(&items),
        _ => Ok(items.iter().map(|i| format!("{i}\n")).collect()),
    }
}

fn relation_list(ctx: &Ctx, args: &[String]) -> Out {
    let args = parse(args, &[FORMAT, RELATION, APP])?;
    no_more(&args, 0)?;
    let model = read(ctx)?;
    let rel = &model.relations[relation_index(&model, ctx, &args)?];
    if args.on("app") {
        return formatted(&args, &Value::String(rel.remote_app.clone()));
    }
    let mut units = members(&model, rel, &ctx.unit);
    if joining(ctx, rel) {
        // As Juju: a remote unit is listed from its own `-joined` hook on
        // (so none at install or in the relation's `-created`).
        let joined = rel.joined.get(&ctx.unit);
        units.retain(|u| joined.is_some_and(|j| j.contains(u)));
    }
    formatted_list(&args, units)
}

/// Whether the calling hook is `install` (no unit has joined any relation
/// yet), or a `-created` or `-joined` hook of `rel`: the hooks in which Juju
/// lists only the units that have joined so far, where the simulated model
/// lists all otherwise (tests may run `-changed` without `-joined`).
fn joining(ctx: &Ctx, rel: &Relation) -> bool {
    let Some(hook) = ctx.env("JUJU_HOOK_NAME") else {
        return false;
    };
    hook == "install"
        || ((hook.ends_with("-relation-joined") || hook.ends_with("-relation-created"))
            && ctx.env("JUJU_RELATION_ID").as_deref() == Some(rel.key().as_str()))
}

fn relation_get(ctx: &Ctx, args: &[String]) -> Out {
    let args = parse(args, &[FORMAT, RELATION, APP])?;
    no_more(&args, 2)?;
    let model = read(ctx)?;
    let rel = &model.relations[relation_index(&model, ctx, &args)?];
    let key = args.pos.first().map(String::as_str).unwrap_or("-");
    let app = args.on("app");
    let target = match args.pos.get(1) {
        Some(t) => t.clone(),
        None if app => ctx
            .env("JUJU_REMOTE_APP")
            .ok_or_else(|| Fail::usage("no unit or application specified"))?,
        None => ctx
            .env("JUJU_REMOTE_UNIT")
            .ok_or_else(|| Fail::usage("no unit id specified"))?,
    };
    let bag = if app {
        let own_app = model.app.as_str();
        if target == own_app && !rel.peer && !unit(&model, ctx)?.leader {
            return Err(Fail::error("permission denied"));
        }
        if target != own_app && target != rel.remote_app {
            return Err(Fail::error(format!(
                "cannot read settings for application \"{target}\" in relation \"{}\": application not in relation",
                rel.key()
            )));
        }
        rel.app_bags.get(&target).cloned().unwrap_or_default()
    } else {
        let allowed = target == ctx.unit
            || members(&model, rel, &ctx.unit).contains(&target)
            || ctx.env("JUJU_DEPARTING_UNIT").as_deref() == Some(target.as_str())
            || (ctx.env("JUJU_REMOTE_UNIT").as_deref() == Some(target.as_str())
                && ctx.env("JUJU_RELATION_ID").as_deref() == Some(rel.key().as_str()));
        if !allowed {
            return Err(Fail::error(format!(
                "cannot read settings for unit \"{target}\" in relation \"{}\": unit \"{target}\": settings not found",
                rel.key()
            )));
        }
        rel.unit_bags.get(&target).cloned().unwrap_or_default()
    };
    if key == "-" {
        let map: Map<String, Value> = bag
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect();
        return match args.get("format").unwrap_or("smart") {
            "json" => json(&map),
            _ => Ok(map
                .iter()
                .map(|(k, v)| format!("{k}: {}\n", v.as_str().unwrap_or("")))
                .collect()),
        };
    }
    formatted(
        &args,
        &bag.get(key)
            .map_or(Value::Null, |v| Value::String(v.clone())),
    )
}

fn relation_set(ctx: &Ctx, args: &[String]) -> Out {
    let args = parse(args, &[FORMAT, RELATION, APP, FILE])?;
    let data = settings(ctx, &args, "relation-set")?;
    update(ctx, |model| {
        let leader = unit(model, ctx)?.leader;
        let app_name = model.app.clone();
        let index = relation_index(model, ctx, &args)?;
        let rel = &mut model.relations[index];
        if args.on("app") {
            if !leader {
                return Err(Fail::error("cannot write relation settings: permission denied (only the leader may write application data)"));
            }
            apply_write(rel.app_bags.entry(app_name).or_default(), data);
        } else {
            let bag = rel.unit_bags.entry(ctx.unit.clone()).or_default();
            let before = bag.clone();
            apply_write(bag, data);
            if rel.peer && *bag != before {
                owe_changed(rel, &ctx.unit);
            }
        }
        Ok(String::new())
    })
}

/// Owes every peer that has `writer` joined a `-changed` for it, as Juju
/// fires one on each unit that sees a unit's data change.
fn owe_changed(rel: &mut Relation, writer: &str) {
    for (peer, joined) in &rel.joined {
        if peer != writer && joined.contains(writer) {
            rel.owed_changed
                .entry(peer.clone())
                .or_default()
                .insert(writer.to_string());
        }
    }
}

// ===== network =====

fn network_get(ctx: &Ctx, args: &[String]) -> Out {
    let flags = [
        FORMAT,
        RELATION,
        Flag {
            names: &["ingress-address"],
            value: false,
        },
        Flag {
            names: &["bind-address"],
            value: false,
        },
        Flag {
            names: &["primary-address"],
            value: false,
        },
        Flag {
            names: &["egress-subnets"],
            value: false,
        },
    ];
    let args = parse(args, &flags)?;
    no_more(&args, 1)?;
    let binding = args
        .pos
        .first()
        .ok_or_else(|| Fail::usage("no endpoint binding name specified"))?;
    let model = read(ctx)?;
    if !model.endpoints.contains(binding) {
        return Err(Fail::error(format!(
            "no network config found for binding \"{binding}\""
        )));
    }
    let unit = unit(&model, ctx)?;
    let info = unit
        .network
        .get(binding)
        .or_else(|| unit.network.get("*"))
        .cloned()
        .unwrap_or_else(|| Value::Object(Map::new()));
    let first = |v: Option<&Value>| v.cloned().unwrap_or(Value::Null);
    let answer = if args.on("ingress-address") {
        first(info.pointer("/ingress-addresses/0"))
    } else if args.on("bind-address") || args.on("primary-address") {
        first(info.pointer("/bind-addresses/0/addresses/0/value"))
    } else if args.on("egress-subnets") {
        first(info.pointer("/egress-subnets"))
    } else {
        info
    };
    formatted(&args, &answer)
}

// ===== status =====

const STATES: &[&str] = &["maintenance", "blocked", "waiting", "active"];

fn status_set(ctx: &Ctx, args: &[String]) -> Out {
    let args = parse(
        args,
        &[Flag {
            names: &["application"],
            value: false,
        }],
    )?;
    no_more(&args, 2)?;
    let state = args
        .pos
        .first()
        .ok_or_else(|| Fail::usage("invalid args, require <status> [message] [data]"))?;
    if !STATES.contains(&state.as_str()) {
        return Err(Fail::usage(format!(
            "invalid status \"{state}\", expected one of [{}]",
            STATES.join(" ")
        )));
    }
    let entry = StatusEntry {
        state: state.clone(),
        message: args.pos.get(1).cloned().unwrap_or_default(),
        hook: ctx.hook.clone(),
    };
    update(ctx, |model| {
        if args.on("application") {
            if !unit(model, ctx)?.leader {
                return Err(Fail::error(
                    "setting application status: this unit is not the leader",
                ));
            }
            model.app_status.push(entry);
        } else {
            unit_mut(model, ctx)?.status.push(entry);
        }
        Ok(String::new())
    })
}

fn status_get(ctx: &Ctx, args: &[String]) -> Out {
    let args = parse(
        args,
        &[
            FORMAT,
            Flag {
                names: &["application"],
                value: false,
            },
            Flag {
                names: &["include-data"],
                value: false,
            },
        ],
    )?;
    let model = read(ctx)?;
    let history = if args.on("application") {
        &model.app_status
    } else {
        &unit(&model, ctx)?.status
    };
    let (status, message) = history
        .last()
        .map_or(("unknown", ""), |e| (e.state.as_str(), e.message.as_str()));
    if args.on("include-data") || args.get("format") == Some("json") {
        let mut doc = Map::new();
        doc.insert("status".into(), status.into());
        doc.insert("message".into(), message.into());
        doc.insert("status-data".into(), Value::Object(Map::new()));
        return json(&doc);
    }
    Ok(format!("{status}\n"))
}

fn application_version_set(ctx: &Ctx, args: &[String]) -> Out {
    let args = parse(args, &[])?;
    no_more(&args, 1)?;
    let version = args
        .pos
        .first()
        .ok_or_else(|| Fail::usage("no version specified"))?
        .clone();
    update(ctx, |model| {
        unit_mut(model, ctx)?.workload_version = version;
        Ok(String::new())
    })
}

fn is_leader(ctx: &Ctx, args: &[String]) -> Out {
    let args = parse(args, &[FORMAT])?;
    no_more(&args, 0)?;
    let leader = unit(&read(ctx)?, ctx)?.leader;
    formatted(&args, &Value::Bool(leader))
}

/// As Juju answers: every unit of the application (ourselves included) with
/// its workload status, and each relation's remote units and application.
fn goal_state(ctx: &Ctx, args: &[String]) -> Out {
    let args = parse(args, &[FORMAT])?;
    no_more(&args, 0)?;
    let model = read(ctx)?;
    let status = |u: &UnitState| {
        let s = u.status.last().map_or("waiting", |e| e.state.as_str());
        serde_json::json!({"status": s, "since": "2026-01-01 00:00:00Z"})
    };
    let units: Map<String, Value> = model
        .units
        .iter()
        .map(|(n, u)| (n.clone(), status(u)))
        .collect();
    let mut relations = Map::new();
    for rel in &model.relations {
        let entry = relations
            .entry(rel.endpoint.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        for m in members(&model, rel, &ctx.unit) {
            entry[m] = serde_json::json!({"status": "joined", "since": "2026-01-01 00:00:00Z"});
        }
        if !rel.peer {
            entry[rel.remote_app.clone()] =
                serde_json::json!({"status": "joined", "since": "2026-01-01 00:00:00Z"});
        }
    }
    match args.get("format").unwrap_or("yaml") {
        "json" => json(&serde_json::json!({"units": units, "relations": relations})),
        other => Err(Fail::usage(format!(
            "only --format=json is simulated, not {other}"
        ))),
    }
}

// ===== actions =====

fn running_action(unit: &UnitState) -> Result<&ActionState, Fail> {
    unit.action
        .as_ref()
        .ok_or_else(|| Fail::error("not running an action"))
}

fn action_get(ctx: &Ctx, args: &[String]) -> Out {
    let args = parse(args, &[FORMAT])?;
    no_more(&args, 1)?;
    let model = read(ctx)?;
    let action = running_action(unit(&model, ctx)?)?;
    let params = Value::Object(action.params.clone());
    match args.pos.first() {
        None => formatted(&args, &params),
        Some(path) => {
            let pointer = format!("/{}", path.replace('.', "/"));
            formatted(&args, params.pointer(&pointer).unwrap_or(&Value::Null))
        }
    }
}

/// Juju's action-set key rule: lowercase letters, digits and dashes per dotted part.
fn valid_action_key(key: &str) -> bool {
    key.split('.').all(|part| {
        !part.is_empty()
            && part
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && part.as_bytes()[0].is_ascii_alphanumeric()
            && part.as_bytes()[part.len() - 1].is_ascii_alphanumeric()
    })
}

const RESERVED_RESULT_KEYS: &[&str] = &["stdout", "stdout-encoding", "stderr", "stderr-encoding"];

fn action_set(ctx: &Ctx, args: &[String]) -> Out {
    let args = parse(args, &[])?;
    if args.pos.is_empty() {
        return Err(Fail::usage("no action results specified"));
    }
    let mut pairs = Vec::new();
    for pair in &args.pos {
        let (k, v) = pair.split_once('=').ok_or_else(|| {
            Fail::usage(format!(
                "argument \"{pair}\" must be of the form key...=value"
            ))
        })?;
        if !valid_action_key(k) {
            return Err(Fail::usage(format!(
                "key \"{k}\" must start and end with lowercase alphanumeric, and contain only lowercase alphanumeric, hyphens and periods"
            )));
        }
        if RESERVED_RESULT_KEYS.contains(&k) {
            return Err(Fail::usage(format!(
                "cannot set reserved action key \"{k}\""
            )));
        }
        pairs.push((k.to_string(), v.to_string()));
    }
    update(ctx, |model| {
        let action = unit_mut(model, ctx)?
            .action
            .as_mut()
            .ok_or_else(|| Fail::error("not running an action"))?;
        for (key, value) in pairs {
            insert_dotted(&mut action.results, &key, value)?;
        }
        Ok(String::new())
    })
}

/// Sets `a.b.c` = value in nested maps, as Juju's action-set does.
fn insert_dotted(map: &mut Map<String, Value>, key: &str, value: String) -> Result<(), Fail> {
    let mut parts: Vec<&str> = key.split('.').collect();
    let last = parts.pop().unwrap_or(key);
    let mut cur = map;
    for part in parts {
        let entry = cur
            .entry(part.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        cur = match entry {
            Value::Object(m) => m,
            _ => return Err(Fail::error("internal: not a map")),
        };
    }
    cur.insert(last.to_string(), Value::String(value));
    Ok(())
}

fn action_fail(ctx: &Ctx, args: &[String]) -> Out {
    let args = parse(args, &[])?;
    no_more(&args, 1)?;
    let message =
        args.pos.first().cloned().unwrap_or_else(|| {
            "action failed without reason given, check action for errors".into()
        });
    update(ctx, |model| {
        let action = unit_mut(model, ctx)?
            .action
            .as_mut()
            .ok_or_else(|| Fail::error("not running an action"))?;
        action.failed = Some(message);
        Ok(String::new())
    })
}

fn action_log(ctx: &Ctx, args: &[String]) -> Out {
    let args = parse(args, &[])?;
    let message = args.pos.join(" ");
    update(ctx, |model| {
        let action = unit_mut(model, ctx)?
            .action
            .as_mut()
            .ok_or_else(|| Fail::error("not running an action"))?;
        action.log.push(message);
        Ok(String::new())
    })
}

// ===== logging =====

const LEVELS: &[&str] = &["TRACE", "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"];

fn juju_log(ctx: &Ctx, args: &[String]) -> Out {
    let args = parse(
        args,
        &[
            FORMAT,
            Flag {
                names: &["log-level", "l"],
                value: true,
            },
            Flag {
                names: &["debug"],
                value: false,
            },
        ],
    )?;
    if args.pos.is_empty() {
        return Err(Fail::usage("no message specified"));
    }
    let level = if args.on("debug") {
        "DEBUG".to_string()
    } else {
        args.get("log-level").unwrap_or("INFO").to_uppercase()
    };
    if !LEVELS.contains(&level.as_str()) {
        return Err(Fail::usage(format!("invalid log level \"{level}\"")));
    }
    let line = LogLine {
        level,
        message: args.pos.join(" "),
        hook: ctx.hook.clone(),
    };
    update(ctx, |model| {
        unit_mut(model, ctx)?.logs.push(line);
        Ok(String::new())
    })
}

// ===== ports =====

fn port_spec(spec: &str) -> Result<String, Fail> {
    if spec == "icmp" {
        return Ok(spec.into());
    }
    let (range, proto) = spec.split_once('/').unwrap_or((spec, "tcp"));
    if proto != "tcp" && proto != "udp" {
        return Err(Fail::usage(format!(
            "invalid protocol \"{proto}\", expected \"tcp\", \"udp\", or \"icmp\""
        )));
    }
    let valid = |p: &str| p.parse::<u16>().is_ok_and(|p| p > 0);
    let ok = match range.split_once('-') {
        Some((a, b)) => valid(a) && valid(b),
        None => valid(range),
    };
    if !ok {
        return Err(Fail::usage(format!("invalid port \"{spec}\"")));
    }
    Ok(format!("{range}/{proto}"))
}

fn ports(ctx: &Ctx, args: &[String], open: bool) -> Out {
    let args = parse(
        args,
        &[
            FORMAT,
            Flag {
                names: &["endpoints"],
                value: true,
            },
        ],
    )?;
    no_more(&args, 1)?;
    let spec = port_spec(
        args.pos
            .first()
            .ok_or_else(|| Fail::usage("no port specified"))?,
    )?;
    update(ctx, |model| {
        let ports = &mut unit_mut(model, ctx)?.ports;
        if open {
            ports.insert(spec);
        } else {
            ports.remove(&spec);
        }
        Ok(String::new())
    })
}

fn opened_ports(ctx: &Ctx, args: &[String]) -> Out {
    let args = parse(
        args,
        &[
            FORMAT,
            Flag {
                names: &["endpoints"],
                value: false,
            },
        ],
    )?;
    let ports: Vec<String> = unit(&read(ctx)?, ctx)?.ports.iter().cloned().collect();
    formatted_list(&args, ports)
}

// ===== unit state =====

fn state_get(ctx: &Ctx, args: &[String]) -> Out {
    let args = parse(
        args,
        &[
            FORMAT,
            Flag {
                names: &["strict"],
                value: false,
            },
        ],
    )?;
    no_more(&args, 1)?;
    let model = read(ctx)?;
    let data = &unit(&model, ctx)?.state;
    match args.pos.first() {
        Some(key) => match data.get(key) {
            Some(v) => formatted(&args, &Value::String(v.clone())),
            None if args.on("strict") => Err(Fail::error(format!("\"{key}\" not found"))),
            None => formatted(&args, &Value::Null),
        },
        None => {
            let map: Map<String, Value> = data
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect();
            formatted(&args, &Value::Object(map))
        }
    }
}

fn state_set(ctx: &Ctx, args: &[String]) -> Out {
    let args = parse(args, &[FILE])?;
    let data = settings(ctx, &args, "state-set")?;
    update(ctx, |model| {
        apply_write(&mut unit_mut(model, ctx)?.state, data);
        Ok(String::new())
    })
}

fn state_delete(ctx: &Ctx, args: &[String]) -> Out {
    let args = parse(args, &[])?;
    no_more(&args, 1)?;
    let key = args
        .pos
        .first()
        .ok_or_else(|| Fail::usage("no key specified"))?
        .clone();
    update(ctx, |model| {
        unit_mut(model, ctx)?.state.remove(&key);
        Ok(String::new())
    })
}
