//! The two pieces of Prometheus' text exposition format every metrics part
//! writes: escaped label values and the `# HELP` / `# TYPE` lines. A leaf,
//! so the parts (`metrics`, `advert_metrics`, `bfd_metrics`) share it
//! without importing each other.

use std::fmt::Write as _;

/// A label value escaped as the text format wants it.
pub fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The `# HELP` and `# TYPE` lines of `metric`.
pub fn header(o: &mut String, metric: &str, help: &str, kind: &str) {
    let _ = writeln!(o, "# HELP {metric} {help}");
    let _ = writeln!(o, "# TYPE {metric} {kind}");
}
