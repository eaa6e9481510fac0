//! The timeline picture: which unit held the VIP when, whether the client's
//! requests through the VIP succeeded, and the moments something was done to the
//! cluster (master killed, `failover` action), drawn as an SVG with `plotters`.
//!
//! Why it exists: a failover is easier to trust when you can see it — the gap
//! between the old master losing the VIP and the new one taking it, and the red
//! client requests in that gap, are the whole story of a VIP. The demo and the
//! benchmarks record events and hand them to [`Timeline::write_svg`]; the same
//! events are saved as JSON next to the picture so it can be redrawn
//! (`cargo bench --bench k8s-vip-bench -- timeline EVENTS.json OUT.svg`).

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use serde::{Deserialize, Serialize};

/// Something that happened at `t_ms` milliseconds after the timeline's start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Event {
    /// From now on exactly these lanes (unit indexes) hold the VIP
    /// (empty = nobody; two = a dual master).
    Holders {
        /// Milliseconds since the start.
        t_ms: f64,
        /// Unit indexes into [`Timeline::units`].
        units: Vec<usize>,
    },
    /// One client request through the VIP and whether it succeeded.
    Request {
        /// Milliseconds since the start.
        t_ms: f64,
        /// It got an answer.
        ok: bool,
    },
    /// Something done to the cluster, drawn as a labelled vertical line.
    Marker {
        /// Milliseconds since the start.
        t_ms: f64,
        /// What happened ("kill -9 master", "failover action").
        label: String,
    },
}

impl Event {
    /// When it happened.
    pub fn t_ms(&self) -> f64 {
        match self {
            Event::Holders { t_ms, .. }
            | Event::Request { t_ms, .. }
            | Event::Marker { t_ms, .. } => *t_ms,
        }
    }
}

/// A recorded run: lane names and events.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Timeline {
    /// Caption of the picture.
    pub title: String,
    /// One lane per unit, e.g. "k8s-vip/0 (192.0.2.11)".
    pub units: Vec<String>,
    /// Events, in any order.
    pub events: Vec<Event>,
}

const HOLD: RGBColor = RGBColor(46, 125, 196);
const OK: RGBColor = RGBColor(56, 158, 72);
const FAIL: RGBColor = RGBColor(214, 48, 49);
const MARK: RGBColor = RGBColor(90, 90, 90);

/// Picture width and the plot area's left and right edges, in pixels (the
/// label layout needs them before the chart exists).
const WIDTH: u32 = 960;
const PLOT_LEFT: f64 = 12.0 + 170.0;
const PLOT_RIGHT: f64 = WIDTH as f64 - 12.0;
/// Height of one row of marker labels above the plot.
const LABEL_ROW_PX: u32 = 14;
/// Advance of one character of the label font, a little generous (plotters
/// writes the 12 px font as font-size 9.7; DejaVu Sans averages ~4.5 px there).
const LABEL_CHAR_PX: f64 = 5.4;

/// Where one marker's label goes above the plot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LabelSlot {
    /// Text row, 0 = the top one.
    pub row: usize,
    /// Drawn to the left of its line (it would run off the right edge).
    pub leftward: bool,
}

/// Lays out the labels of `markers` (sorted by time, milliseconds) on a plot
/// spanning `end_ms`: labels alternate between two rows as far as they fit;
/// one that would overlap an earlier label in its row takes the first row
/// where it fits (a new one if none), and one that would run off the right
/// edge is drawn leftward. Why: a failover puts three or four markers within
/// a few pixels (last advert, kill, port down, takeover), and labels that
/// overwrite each other say nothing.
pub fn label_layout(markers: &[(f64, &str)], end_ms: f64) -> Vec<LabelSlot> {
    let scale = (PLOT_RIGHT - PLOT_LEFT) / end_ms.max(1.0);
    let mut taken: Vec<Vec<(f64, f64)>> = vec![Vec::new(), Vec::new()];
    let mut slots = Vec::new();
    for (n, (t_ms, label)) in markers.iter().enumerate() {
        let x = PLOT_LEFT + t_ms * scale;
        let width = 3.0 + label.chars().count() as f64 * LABEL_CHAR_PX;
        let leftward = x + width > WIDTH as f64 - 4.0;
        let span = if leftward {
            (x - width, x)
        } else {
            (x, x + width)
        };
        let fits = |row: &Vec<(f64, f64)>| {
            row.iter()
                .all(|(a, b)| span.1 + 6.0 <= *a || span.0 >= *b + 6.0)
        };
        let preferred = n % 2;
        let row = if fits(&taken[preferred]) {
            preferred
        } else {
            match taken.iter().position(fits) {
                Some(r) => r,
                None => {
                    taken.push(Vec::new());
                    taken.len() - 1
                }
            }
        };
        taken[row].push(span);
        slots.push(LabelSlot { row, leftward });
    }
    slots
}

impl Timeline {
    /// An empty timeline with these lanes.
    pub fn new(title: &str, units: Vec<String>) -> Timeline {
        Timeline {
            title: title.to_string(),
            units,
            events: Vec::new(),
        }
    }

    /// Reads a timeline saved with [`Timeline::save`].
    pub fn load(path: &Path) -> anyhow::Result<Timeline> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
    }

    /// Saves the events as JSON.
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, serde_json::to_string_pretty(self)? + "\n")
            .with_context(|| format!("writing {}", path.display()))
    }

    /// Hold intervals per lane: (lane, from_ms, to_ms), closed at `end`.
    pub fn hold_spans(&self, end: f64) -> Vec<(usize, f64, f64)> {
        let mut changes: Vec<(f64, &Vec<usize>)> = self
            .events
            .iter()
            .filter_map(|e| match e {
                Event::Holders { t_ms, units } => Some((*t_ms, units)),
                _ => None,
            })
            .collect();
        changes.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut spans = Vec::new();
        let mut open: Vec<(usize, f64)> = Vec::new();
        for (t, holders) in changes {
            open.retain(|(lane, since)| {
                let keep = holders.contains(lane);
                if !keep {
                    spans.push((*lane, *since, t));
                }
                keep
            });
            for lane in holders {
                if !open.iter().any(|(l, _)| l == lane) {
                    open.push((*lane, t));
                }
            }
        }
        for (lane, since) in open {
            spans.push((lane, since, end));
        }
        spans
    }

    /// Runs of failed requests: (from_ms, to_ms) from the first failure to the
    /// next success.
    pub fn outages(&self) -> Vec<(f64, f64)> {
        let mut reqs: Vec<(f64, bool)> = self
            .events
            .iter()
            .filter_map(|e| match e {
                Event::Request { t_ms, ok } => Some((*t_ms, *ok)),
                _ => None,
            })
            .collect();
        reqs.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut out = Vec::new();
        let mut since: Option<f64> = None;
        for (t, ok) in &reqs {
            match (ok, since) {
                (false, None) => since = Some(*t),
                (true, Some(s)) => {
                    out.push((s, *t));
                    since = None;
                }
                _ => {}
            }
        }
        if let (Some(s), Some((last, _))) = (since, reqs.last()) {
            out.push((s, *last));
        }
        out
    }

    /// Writes `<stem>.json` (the events, redrawable with the bench's
    /// `timeline` command), `<stem>.svg`, and `<stem>.png` when `rsvg-convert`
    /// is on PATH (a PNG through plotters would need a font rasteriser and an
    /// image encoder in every build; an optional tool costs nothing when
    /// absent). Returns the files written.
    pub fn write_files(&self, dir: &Path, stem: &str) -> anyhow::Result<Vec<PathBuf>> {
        let json = dir.join(format!("{stem}.json"));
        let svg = dir.join(format!("{stem}.svg"));
        self.save(&json)?;
        self.write_svg(&svg)?;
        let mut written = vec![json, svg.clone()];
        if let Some(png) = svg_to_png(&svg) {
            written.push(png);
        }
        Ok(written)
    }

    /// Draws the picture: one lane per unit (blue = holds the VIP), a client
    /// lane (green = request answered, red = failed), labelled markers.
    pub fn write_svg(&self, path: &Path) -> anyhow::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let end = self
            .events
            .iter()
            .map(Event::t_ms)
            .fold(0.0_f64, f64::max)
            .max(1.0);
        let end_s = end / 1000.0;
        let lanes = self.units.len() + 1;
        let client_lane = self.units.len();
        let mut markers: Vec<(f64, &str)> = self
            .events
            .iter()
            .filter_map(|e| match e {
                Event::Marker { t_ms, label } => Some((*t_ms, label.as_str())),
                _ => None,
            })
            .collect();
        markers.sort_by(|a, b| a.0.total_cmp(&b.0));
        let slots = label_layout(&markers, end);
        let rows = slots.iter().map(|s| s.row + 1).max().unwrap_or(0).max(2) as u32;
        let extra = LABEL_ROW_PX * (rows - 2);
        let height = 120 + 44 * lanes as u32 + extra;
        let root = SVGBackend::new(path, (WIDTH, height)).into_drawing_area();
        let draw = |e: &dyn std::fmt::Display| anyhow::anyhow!("drawing {}: {e}", path.display());
        root.fill(&WHITE).map_err(|e| draw(&e))?;
        root.draw(&Text::new(
            self.title.clone(),
            (16, 8),
            ("sans-serif", 18).into_font().color(&BLACK),
        ))
        .map_err(|e| draw(&e))?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .margin_top(62 + extra)
            .x_label_area_size(34)
            .y_label_area_size(170)
            .build_cartesian_2d(0f64..end_s, 0f64..lanes as f64)
            .map_err(|e| draw(&e))?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(0)
            .x_desc("seconds")
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(|e| draw(&e))?;
        // Lane i is drawn top-down: y from lanes-1-i to lanes-i.
        let lane_y = |i: usize| (lanes - 1 - i) as f64;
        let spans = self.hold_spans(end);
        chart
            .draw_series(spans.iter().map(|(lane, from, to)| {
                let y = lane_y(*lane);
                Rectangle::new(
                    [(from / 1000.0, y + 0.2), (to / 1000.0, y + 0.8)],
                    HOLD.filled(),
                )
            }))
            .map_err(|e| draw(&e))?;
        let y = lane_y(client_lane);
        let width_s = (end_s / 900.0).max(0.001);
        chart
            .draw_series(self.events.iter().filter_map(|e| match e {
                Event::Request { t_ms, ok } => {
                    let x = t_ms / 1000.0;
                    let color = if *ok { OK } else { FAIL };
                    Some(Rectangle::new(
                        [(x, y + 0.25), (x + width_s, y + 0.75)],
                        color.filled(),
                    ))
                }
                _ => None,
            }))
            .map_err(|e| draw(&e))?;
        chart
            .draw_series(self.outages().iter().map(|(from, to)| {
                Rectangle::new(
                    [(from / 1000.0, y + 0.25), (to / 1000.0, y + 0.75)],
                    FAIL.mix(0.6).filled(),
                )
            }))
            .map_err(|e| draw(&e))?;
        for ((t_ms, label), slot) in markers.into_iter().zip(slots) {
            {
                let x = t_ms / 1000.0;
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(x, 0.0), (x, lanes as f64)],
                        MARK.stroke_width(1),
                    )))
                    .map_err(|e| draw(&e))?;
                // Labels sit above the plot in the rows `label_layout` chose.
                let (px, py) = chart.backend_coord(&(x, lanes as f64));
                let row = slot.row as u32;
                let y = py - 4 - (LABEL_ROW_PX * (rows - row)) as i32;
                let font = ("sans-serif", 12).into_font().color(&MARK);
                let (font, tx) = if slot.leftward {
                    (font.pos(Pos::new(HPos::Right, VPos::Top)), px - 3)
                } else {
                    (font, px + 3)
                };
                root.draw(&Text::new(label.to_string(), (tx, y), font))
                    .map_err(|e| draw(&e))?;
            }
        }
        let names = self
            .units
            .iter()
            .cloned()
            .chain(std::iter::once("client → VIP".to_string()));
        for (i, name) in names.enumerate() {
            let (_, py) = chart.backend_coord(&(0.0, lane_y(i) + 0.5));
            root.draw(&Text::new(
                name,
                (16, py - 7),
                ("sans-serif", 14).into_font().color(&BLACK),
            ))
            .map_err(|e| draw(&e))?;
        }
        root.present().map_err(|e| draw(&e))?;
        Ok(())
    }
}

/// Renders `svg` to a PNG next to it with `rsvg-convert` (Debian: librsvg2-bin),
/// if that tool is installed and succeeds; None otherwise.
pub fn svg_to_png(svg: &Path) -> Option<PathBuf> {
    let png = svg.with_extension("png");
    let status = std::process::Command::new("rsvg-convert")
        .args(["--background-color", "white", "-o"])
        .arg(&png)
        .arg(svg)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .ok()?;
    status.success().then_some(png)
}
