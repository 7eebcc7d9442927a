//! PNG plots drawn with plotters: `replay --plot FILE.png` (the gap-error histogram,
//! [`replay`]) and `report --plot DIR` (the link's rate with its bursts, order-to-ack
//! latency, feed gaps: [`report`]).
//!
//! What they share is here: the canvas (1200 × 640, RGB, drawn in memory by plotters' bitmap
//! backend and written as a PNG under a temporary name, then renamed, so a reader never
//! sees half a picture), the text set in DejaVu Sans Mono embedded in the binary (its
//! licence is `assets/fonts/DejaVuSansMono.LICENSE`) so a server without fonts draws it
//! the same, the colours, and a chart with nothing to draw.

pub mod clock;
pub mod replay;
pub mod report;

use std::io::BufWriter;
use std::path::Path;
use std::sync::OnceLock;

use anyhow::{anyhow, Context, Result};
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};

pub const WIDTH: u32 = 1200;
pub const HEIGHT: u32 = 640;
static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSansMono.ttf");
/// The family the embedded font is registered under: every text style names it.
pub const FAMILY: &str = "sans-serif";

/// The main series: bars, rates, the busiest latency histogram (blue at 60 % on white,
/// solid so that a test can look for it).
pub const SERIES: RGBColor = RGBColor(102, 102, 255);
/// What went wrong: a burst above the threshold, numbers no line delivered.
pub const BAD: RGBColor = RGBColor(214, 39, 40);
/// What went right after all: numbers another line delivered.
pub const GOOD: RGBColor = RGBColor(44, 160, 44);
/// Between the two: a gap partly recovered; a window's peak.
pub const WARN: RGBColor = RGBColor(255, 127, 14);
/// Further series, after [`SERIES`] (the Tableau 10 colours, without red and green).
pub const MORE: [RGBColor; 6] = [
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];
/// Text and axes.
pub const INK: RGBColor = BLACK;

/// The drawing area of a canvas.
pub type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

fn fonts() -> Result<()> {
    static LOADED: OnceLock<bool> = OnceLock::new();
    if *LOADED.get_or_init(|| register_font(FAMILY, FontStyle::Normal, FONT).is_ok()) {
        Ok(())
    } else {
        Err(anyhow!("--plot: the embedded font does not load"))
    }
}

/// plotters' errors (drawing into memory: they do not happen in practice) as ours.
pub trait Drawn<T> {
    fn drawn(self) -> Result<T>;
}

impl<T, E: std::fmt::Display> Drawn<T> for std::result::Result<T, E> {
    fn drawn(self) -> Result<T> {
        self.map_err(|e| anyhow!("--plot: drawing: {e}"))
    }
}

/// Draws a picture with `draw` on a white canvas and writes it to `path` as a PNG.
pub fn png(path: &Path, draw: impl FnOnce(&Area) -> Result<()>) -> Result<()> {
    fonts()?;
    let mut rgb = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).drawn()?;
        draw(&root)?;
        root.present().drawn()?;
    }
    write_png(path, &rgb)
}

/// A chart with nothing to draw: the title says why, the axes say what would be there.
pub fn nothing(root: &Area, title: &str, x_desc: &str, y_desc: &str) -> Result<()> {
    let mut chart = ChartBuilder::on(root)
        .caption(title, (FAMILY, 20))
        .margin(16)
        .x_label_area_size(56)
        .y_label_area_size(80)
        .build_cartesian_2d(0f64..1f64, 0f64..1f64)
        .drawn()?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_labels(0)
        .y_labels(0)
        .x_desc(x_desc)
        .y_desc(y_desc)
        .axis_desc_style((FAMILY, 15))
        .draw()
        .drawn()?;
    chart
        .draw_series(std::iter::once(Text::new(
            "nothing to draw",
            (0.42, 0.55),
            (FAMILY, 18).into_font().color(&INK.mix(0.5)),
        )))
        .drawn()?;
    Ok(())
}

/// A linear `f64` axis with ticks where we put them (plotters' own `with_key_points` over
/// `f64` gives no label formatter to set): no light mesh lines.
#[derive(Debug, Clone)]
pub struct Ticked {
    range: std::ops::Range<f64>,
    ticks: Vec<f64>,
}

impl Ticked {
    pub fn new(range: std::ops::Range<f64>, ticks: Vec<f64>) -> Ticked {
        Ticked { range, ticks }
    }
}

impl Ranged for Ticked {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let (lo, hi) = (self.range.start, self.range.end);
        let f = if hi > lo {
            (value - lo) / (hi - lo)
        } else {
            0.0
        };
        // `as` saturates: a value far off the axis lands at its far side.
        limit.0 + (f * f64::from(limit.1 - limit.0)).round() as i32
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.range.clone()
    }
}

/// A key drawn under or beside a chart: a swatch of each colour and what it stands for,
/// one entry a line from `(x, y)` down.
pub fn key(area: &Area, (x, y): (i32, i32), entries: &[(RGBColor, String)]) -> Result<()> {
    for (i, (colour, text)) in entries.iter().enumerate() {
        let y = y + 20 * i as i32;
        area.draw(&Rectangle::new(
            [(x, y + 3), (x + 18, y + 13)],
            colour.filled(),
        ))
        .drawn()?;
        area.draw(&Text::new(
            text.as_str(),
            (x + 26, y + 1),
            (FAMILY, 13).into_font().color(&INK),
        ))
        .drawn()?;
    }
    Ok(())
}

/// Lines of text from `(x, y)` down.
pub fn lines(area: &Area, (x, y): (i32, i32), size: u32, lines: &[String]) -> Result<()> {
    let step = size as i32 * 4 / 3;
    for (i, l) in lines.iter().enumerate() {
        area.draw(&Text::new(
            l.as_str(),
            (x, y + step * i as i32),
            (FAMILY, size).into_font().color(&INK),
        ))
        .drawn()?;
    }
    Ok(())
}

/// A round duration as an axis label: `500ns`, `2µs`, `10ms`, `1s` (whole units, rounded
/// down).
pub fn short_ns(n: u64) -> String {
    match n {
        0..1_000 => format!("{n}ns"),
        1_000..1_000_000 => format!("{}µs", n / 1_000),
        1_000_000..1_000_000_000 => format!("{}ms", n / 1_000_000),
        _ => format!("{}s", n / 1_000_000_000),
    }
}

fn write_png(path: &Path, rgb: &[u8]) -> Result<()> {
    let name = path
        .file_name()
        .ok_or_else(|| anyhow!("--plot {}: not a file name", path.display()))?;
    let tmp = path.with_file_name(format!(".{}.tmp", name.to_string_lossy()));
    let f = std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    let mut enc = png::Encoder::new(BufWriter::new(f), WIDTH, HEIGHT);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    let done = (|| -> Result<(), png::EncodingError> {
        let mut w = enc.write_header()?;
        w.write_image_data(rgb)?;
        w.finish()
    })();
    if let Err(e) = done {
        let _ = std::fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("writing {}", tmp.display()));
    }
    std::fs::rename(&tmp, path)
        .with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))
}
