//! PNG plots drawn with plotters: `replay --plot FILE.png` (the gap-error histogram,
//! [`replay`]).
//!
//! What plots share is here: the canvas (1200 × 640, RGB, drawn in memory by plotters'
//! bitmap backend and written as a PNG under a temporary name, then renamed, so a reader
//! never sees half a picture), the text set in DejaVu Sans Mono embedded in the binary (its
//! licence is `assets/fonts/DejaVuSansMono.LICENSE`) so a server without fonts draws it
//! the same, and the colours.

pub mod replay;

use std::io::BufWriter;
use std::path::Path;
use std::sync::OnceLock;

use anyhow::{anyhow, Context, Result};
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
