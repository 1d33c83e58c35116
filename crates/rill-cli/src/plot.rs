//! `rill plot`: a file's numeric columns drawn as time series, one panel per column over a
//! shared time axis, to SVG or PNG (plotters; PNG text uses an embedded font, so no system font
//! is looked up).

use anyhow::{bail, Context, Result};
use plotters::prelude::*;
use rill::core::{Timestamp, Value};
use std::path::Path;

/// What to draw and how big.
pub struct PlotOptions<'a> {
    /// The time column; default `timestamp`, else `time`.
    pub time: Option<&'a str>,
    /// The columns to draw; default every numeric one.
    pub columns: &'a [String],
    /// Width in pixels.
    pub width: u32,
    /// Height of one panel in pixels.
    pub panel_height: u32,
}

/// One drawn column: its points in time order, `NaN` where it has no value (a gap).
struct Series {
    name: String,
    points: Vec<(f64, f64)>,
}

/// The font family of every text; in PNG it is the embedded DejaVu Sans Mono.
const FONT: &str = "sans-serif";

/// Reads `file` and draws it to `output` (`.svg` or `.png`), written whole or not at all.
pub fn plot(file: &Path, output: &Path, opts: &PlotOptions<'_>) -> Result<()> {
    let shown = file.display().to_string();
    let ext = output.extension().and_then(|e| e.to_str()).unwrap_or("");
    let png = match ext.to_ascii_lowercase().as_str() {
        "svg" => false,
        "png" => true,
        _ => bail!(
            "output '{}': unknown extension '{ext}' (expected .svg or .png)",
            output.display()
        ),
    };
    let (times, series) = read(file, opts)?;
    if times.is_empty() {
        bail!("'{shown}' has no rows to plot");
    }
    let (t0, t1) = (times[0], *times.last().expect("not empty"));
    let span = if t1 > t0 { t1 - t0 } else { 1.0 };
    let height = opts.panel_height * series.len() as u32;
    // text is measured (both formats) and drawn (PNG) with the embedded font
    static REGISTER: std::sync::Once = std::sync::Once::new();
    REGISTER.call_once(|| {
        let font = include_bytes!("../assets/DejaVuSansMono.ttf");
        plotters::style::register_font(FONT, FontStyle::Normal, font)
            .map_err(|_| ())
            .expect("the embedded font is valid");
    });
    let tmp = partial_path(output)?;
    let drawn = if png {
        draw(
            BitMapBackend::new(&tmp, (opts.width, height)).into_drawing_area(),
            &series,
            t0,
            span,
            opts.width,
        )
    } else {
        draw(
            SVGBackend::new(&tmp, (opts.width, height)).into_drawing_area(),
            &series,
            t0,
            span,
            opts.width,
        )
    };
    let done = drawn.and_then(|()| {
        std::fs::rename(&tmp, output).with_context(|| format!("cannot write {}", output.display()))
    });
    if done.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    done
}

/// `dir/.name.partial.ext`: plotters picks the image format by the extension, kept last.
fn partial_path(output: &Path) -> Result<std::path::PathBuf> {
    let name = output
        .file_name()
        .and_then(|n| n.to_str())
        .context("the output path names no file")?;
    let ext = output.extension().and_then(|e| e.to_str()).unwrap_or("");
    let dir = match output.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    Ok(dir.join(format!(".{name}.partial.{ext}")))
}

/// The rows' times (seconds since the epoch) and the series to draw.
fn read(file: &Path, opts: &PlotOptions<'_>) -> Result<(Vec<f64>, Vec<Series>)> {
    let shown = file.display().to_string();
    let mut src = crate::files::open(file)?;
    let mut rows: Vec<rill::core::Record> = Vec::new();
    let rejected = crate::files::for_each_row(src.as_mut(), |body| {
        if let Value::Record(r) = body {
            rows.push(r);
        }
        true
    })?;
    if rejected > 0 {
        eprintln!("({rejected} records of '{shown}' could not be read and are not drawn)");
    }
    let Some(first) = rows.first() else {
        return Ok((Vec::new(), Vec::new()));
    };
    let names: Vec<String> = first.iter().map(|(n, _)| n.to_string()).collect();
    let time = match opts.time {
        Some(t) if names.iter().any(|n| n == t) => t.to_string(),
        Some(t) => bail!(
            "'{shown}' has no column '{t}' (columns: {})",
            names.join(", ")
        ),
        None => ["timestamp", "time"]
            .into_iter()
            .find(|t| names.iter().any(|n| n == t))
            .map(str::to_string)
            .with_context(|| {
                format!(
                    "'{shown}' has no `timestamp` or `time` column: name the time column with \
                     --time (columns: {})",
                    names.join(", ")
                )
            })?,
    };
    let mut times = Vec::with_capacity(rows.len());
    for (i, r) in rows.iter().enumerate() {
        let v = r.get(&time).unwrap_or(&Value::Null);
        let t = seconds(v).with_context(|| {
            format!(
                "'{shown}' row {}: column '{time}': {} is not a time",
                i + 1,
                rill::core::json::to_json(v)
            )
        })?;
        if times.last().is_some_and(|&last| t < last) {
            bail!(
                "'{shown}' row {}: column '{time}' goes back in time: rows must be in time order",
                i + 1
            );
        }
        times.push(t);
    }
    let wanted: Vec<String> = if opts.columns.is_empty() {
        names
            .iter()
            .filter(|n| **n != time)
            .filter(|n| {
                let mut any = false;
                let numeric = rows.iter().all(|r| match r.get(n) {
                    Some(Value::Int(_) | Value::Float(_)) => {
                        any = true;
                        true
                    }
                    None | Some(Value::Null) => true,
                    Some(_) => false,
                });
                numeric && any
            })
            .cloned()
            .collect()
    } else {
        opts.columns.to_vec()
    };
    if wanted.is_empty() {
        bail!(
            "'{shown}' has no numeric column to plot besides '{time}' (columns: {})",
            names.join(", ")
        );
    }
    let mut series = Vec::new();
    for name in wanted {
        if !names.contains(&name) {
            bail!(
                "'{shown}' has no column '{name}' (columns: {})",
                names.join(", ")
            );
        }
        let mut points = Vec::with_capacity(rows.len());
        for (i, (r, t)) in rows.iter().zip(&times).enumerate() {
            let y = match r.get(&name) {
                Some(Value::Int(v)) => *v as f64,
                Some(Value::Float(v)) => *v,
                None | Some(Value::Null) => f64::NAN,
                Some(other) => bail!(
                    "'{shown}' row {}: column '{name}': {} is not a number",
                    i + 1,
                    rill::core::json::to_json(other)
                ),
            };
            points.push((*t, y));
        }
        series.push(Series { name, points });
    }
    Ok((times, series))
}

/// A time as seconds since the epoch: a timestamp, RFC 3339 text, or a number of seconds
/// (svoe's float epoch seconds).
fn seconds(v: &Value) -> Option<f64> {
    match v {
        Value::Time(t) => Some(t.nanos() as f64 / 1e9),
        Value::Int(s) => Some(*s as f64),
        Value::Float(s) if s.is_finite() => Some(*s),
        Value::Str(s) => Timestamp::parse_iso(s.as_str())
            .ok()
            .map(|t| t.nanos() as f64 / 1e9),
        _ => None,
    }
}

/// At most `2 · width` points per series: the lowest and highest value of each pixel column,
/// in time order, so spikes survive and the drawing's cost does not grow with the file.
fn decimate(points: &[(f64, f64)], t0: f64, span: f64, width: u32) -> Vec<(f64, f64)> {
    if points.len() <= 4 * width as usize {
        return points.to_vec();
    }
    let mut out = Vec::with_capacity(2 * width as usize);
    let column = |t: f64| (((t - t0) / span) * width as f64) as i64;
    let mut i = 0;
    while i < points.len() {
        let c = column(points[i].0);
        let (mut lo, mut hi) = (points[i], points[i]);
        let mut gap = points[i].1.is_nan();
        let mut j = i;
        while j < points.len() && column(points[j].0) == c {
            let p = points[j];
            gap |= p.1.is_nan();
            if p.1 < lo.1 || lo.1.is_nan() {
                lo = p;
            }
            if p.1 > hi.1 || hi.1.is_nan() {
                hi = p;
            }
            j += 1;
        }
        let (a, b) = if lo.0 <= hi.0 { (lo, hi) } else { (hi, lo) };
        out.push(a);
        if b != a {
            out.push(b);
        }
        if gap {
            out.push((points[j - 1].0, f64::NAN));
        }
        i = j;
    }
    out
}

fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, plotters::coord::Shift>,
    series: &[Series],
    t0: f64,
    span: f64,
    width: u32,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)
        .map_err(|e| anyhow::anyhow!("drawing: {e}"))?;
    let panels = root.split_evenly((series.len(), 1));
    let label = |x: &f64| {
        let iso = Timestamp(((t0 + x) * 1e9) as i64).to_iso();
        // within a day the time of day says it; beyond, the date too
        if span <= 86_400.0 {
            iso.get(11..19).unwrap_or(&iso).to_string()
        } else {
            iso.get(..16).unwrap_or(&iso).replace('T', " ")
        }
    };
    for (s, panel) in series.iter().zip(panels.iter()) {
        let points = decimate(&s.points, t0, span, width);
        let ys = points.iter().map(|p| p.1).filter(|y| y.is_finite());
        let (lo, hi) = ys.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), y| {
            (a.min(y), b.max(y))
        });
        let (lo, hi) = match (lo.is_finite(), lo < hi) {
            (false, _) => (0.0, 1.0),
            (true, true) => (lo - (hi - lo) * 0.05, hi + (hi - lo) * 0.05),
            (true, false) => (lo - 1.0, hi + 1.0),
        };
        let mut chart = ChartBuilder::on(panel)
            .caption(&s.name, (FONT, 16))
            .margin(8)
            .x_label_area_size(28)
            .y_label_area_size(70)
            .build_cartesian_2d(0.0..span, lo..hi)
            .map_err(|e| anyhow::anyhow!("drawing {}: {e}", s.name))?;
        chart
            .configure_mesh()
            .x_labels(6)
            .y_labels(5)
            .x_label_formatter(&label)
            .label_style((FONT, 12))
            .draw()
            .map_err(|e| anyhow::anyhow!("drawing {}: {e}", s.name))?;
        // one line per run of values, broken where the column has none
        for run in points.split(|p| p.1.is_nan()).filter(|r| !r.is_empty()) {
            chart
                .draw_series(LineSeries::new(
                    run.iter().map(|(t, y)| (t - t0, *y)),
                    &BLUE,
                ))
                .map_err(|e| anyhow::anyhow!("drawing {}: {e}", s.name))?;
        }
    }
    root.present()
        .map_err(|e| anyhow::anyhow!("writing the drawing: {e}"))?;
    Ok(())
}
