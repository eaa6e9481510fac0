//! Shims for the system commands the charm may run (`apt-get`, `dpkg-query`,
//! `sysctl`): they record every call (calls.jsonl) and keep just enough state
//! (installed packages, sysctl values) for the charm to read back. A package
//! whose maintainer scripts matter to the charm (`frr`: conffiles, a service
//! started on install) gets them from `services::package_installed`.

use crate::services;
use crate::state::{self, ModelState, UnitState};
use crate::{Ctx, Fail, Out};

fn update_unit(ctx: &Ctx, change: impl FnOnce(&mut UnitState)) -> Result<(), Fail> {
    state::update_state(&ctx.model_dir, |model: &mut ModelState| {
        let unit = model
            .units
            .get_mut(&ctx.unit)
            .ok_or_else(|| format!("unit {:?} not found", ctx.unit))?;
        change(unit);
        Ok(())
    })
    .map_err(|e| Fail::raw(format!("{e}\n"), 100))
}

fn read_unit(ctx: &Ctx) -> Result<UnitState, Fail> {
    let model = state::read_state(&ctx.model_dir).map_err(|e| Fail::raw(format!("{e}\n"), 100))?;
    model
        .units
        .get(&ctx.unit)
        .cloned()
        .ok_or_else(|| Fail::raw(format!("unit {:?} not found\n", ctx.unit), 100))
}

/// `apt-get [options] install|remove|purge|update ... PKG...`: records, and
/// tracks installed packages.
pub fn apt_get(ctx: &Ctx, args: &[String]) -> Out {
    let mut words = Vec::new();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        if arg == "-o" || arg == "-c" || arg == "-t" {
            iter.next();
        } else if !arg.starts_with('-') {
            words.push(arg.clone());
        }
    }
    let Some((verb, packages)) = words.split_first() else {
        return Err(Fail::raw("E: Invalid operation\n", 100));
    };
    match verb.as_str() {
        "update" | "upgrade" | "dist-upgrade" | "autoremove" | "clean" => Ok(String::new()),
        "install" => {
            let before = read_unit(ctx)?.packages;
            update_unit(ctx, |u| u.packages.extend(packages.iter().cloned()))?;
            for p in packages.iter().filter(|p| !before.contains(*p)) {
                services::package_installed(ctx, p)?;
            }
            Ok(String::new())
        }
        "remove" | "purge" => {
            let before = read_unit(ctx)?.packages;
            for p in packages.iter().filter(|p| before.contains(*p)) {
                services::package_removed(ctx, p, verb == "purge")?;
            }
            update_unit(ctx, |u| {
                for p in packages {
                    u.packages.remove(p);
                }
            })?;
            Ok(String::new())
        }
        other => Err(Fail::raw(format!("E: Invalid operation {other}\n"), 100)),
    }
}

/// `dpkg-query -W [-f=FORMAT] PKG...` and `dpkg-query -s PKG`, answered from
/// the packages the apt-get shim installed.
pub fn dpkg_query(ctx: &Ctx, args: &[String]) -> Out {
    let mut format = "${binary:Package}\t${Version}\n".to_string();
    let mut packages = Vec::new();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        if let Some(f) = arg
            .strip_prefix("--showformat=")
            .or_else(|| arg.strip_prefix("-f="))
        {
            format = f.to_string();
        } else if arg == "-f" || arg == "--showformat" {
            format = iter.next().cloned().unwrap_or_default();
        } else if !arg.starts_with('-') {
            packages.push(arg.clone());
        }
    }
    let unit = read_unit(ctx)?;
    let mut out = String::new();
    let mut missing = String::new();
    for p in &packages {
        if !unit.packages.contains(p) {
            // As dpkg-query: report it, go on with the others, exit 1.
            missing.push_str(&format!("dpkg-query: no packages found matching {p}\n"));
            continue;
        }
        out.push_str(
            &format
                .replace("${binary:Package}", p)
                .replace("${Package}", p)
                .replace("${Version}", "1:0-sim")
                .replace("${Status}", "install ok installed")
                .replace("${db:Status-Abbrev}", "ii ")
                .replace("\\n", "\n")
                .replace("\\t", "\t"),
        );
    }
    if !missing.is_empty() {
        print!("{out}");
        return Err(Fail::raw(missing, 1));
    }
    Ok(out)
}

/// `sysctl -w k=v`, `sysctl -p [FILE]`, `sysctl --system`, `sysctl [-n] KEY`:
/// records and remembers values; files are read under the unit's root.
pub fn sysctl(ctx: &Ctx, args: &[String]) -> Out {
    let quiet_value = args.iter().any(|a| a == "-n" || a == "--values");
    let mut set = Vec::new();
    let mut query = Vec::new();
    let mut iter = args.iter().peekable();
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "-w" | "--write" | "-n" | "--values" | "-q" | "--quiet" | "-e" => {}
            "-p" | "--load" => {
                let file = match iter.peek() {
                    Some(f) if !f.starts_with('-') => iter.next().cloned().unwrap_or_default(),
                    _ => "/etc/sysctl.conf".to_string(),
                };
                set.extend(read_sysctl_file(ctx, &file)?);
            }
            "--system" => {
                let dir = ctx.rooted("/etc/sysctl.d");
                let mut files: Vec<_> = std::fs::read_dir(&dir)
                    .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
                    .unwrap_or_default();
                files.sort();
                for f in files {
                    if f.extension().is_some_and(|e| e == "conf") {
                        set.extend(parse_sysctl(
                            &std::fs::read_to_string(&f).unwrap_or_default(),
                        ));
                    }
                }
            }
            other if other.starts_with('-') => {
                return Err(Fail::raw(
                    format!("sysctl: invalid option -- '{other}'\n"),
                    1,
                ))
            }
            other => match other.split_once('=') {
                Some((k, v)) => set.push((k.trim().to_string(), v.trim().to_string())),
                None => query.push(other.to_string()),
            },
        }
    }
    if !set.is_empty() {
        let out: String = set.iter().map(|(k, v)| format!("{k} = {v}\n")).collect();
        update_unit(ctx, |u| u.sysctl.extend(set))?;
        return Ok(out);
    }
    let unit = read_unit(ctx)?;
    Ok(query
        .iter()
        .map(|k| {
            let v = unit.sysctl.get(k).map_or("0", String::as_str);
            if quiet_value {
                format!("{v}\n")
            } else {
                format!("{k} = {v}\n")
            }
        })
        .collect())
}

fn read_sysctl_file(ctx: &Ctx, file: &str) -> Result<Vec<(String, String)>, Fail> {
    let path = ctx.rooted(file);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| Fail::raw(format!("sysctl: cannot open \"{file}\": {e}\n"), 1))?;
    Ok(parse_sysctl(&text))
}

fn parse_sysctl(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with(';'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| {
            (
                k.trim().trim_start_matches('-').to_string(),
                v.trim().to_string(),
            )
        })
        .collect()
}
