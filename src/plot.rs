//! `replay --plot FILE.png`: the gap-error histogram of a replay, drawn with plotters into
//! a PNG. The text is set in DejaVu Sans Mono, embedded in the binary (its licence is
//! `assets/fonts/DejaVuSansMono.LICENSE`), so a server without fonts draws it the same.

use std::io::BufWriter;
use std::path::Path;
use std::sync::OnceLock;

use anyhow::{anyhow, Context, Result};
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};
use wiretape_replay::report::Bucket;
use wiretape_replay::Report;

use crate::output::span as ns;

const WIDTH: u32 = 1200;
const HEIGHT: u32 = 640;
static FONT: &[u8] = include_bytes!("../assets/fonts/DejaVuSansMono.ttf");
const FAMILY: &str = "sans-serif";

fn fonts() -> Result<()> {
    static LOADED: OnceLock<bool> = OnceLock::new();
    if *LOADED.get_or_init(|| register_font(FAMILY, FontStyle::Normal, FONT).is_ok()) {
        Ok(())
    } else {
        Err(anyhow!("--plot: the embedded font does not load"))
    }
}

/// A bar's label: its upper bound (`500ns`, `2µs`, `1s`) or `>1s`.
fn label(b: &Bucket) -> String {
    match b.upper_ns {
        None => ">1s".to_owned(),
        Some(n) if n < 1_000 => format!("{n}ns"),
        Some(n) if n < 1_000_000 => format!("{}µs", n / 1_000),
        Some(n) if n < 1_000_000_000 => format!("{}ms", n / 1_000_000),
        Some(n) => format!("{}s", n / 1_000_000_000),
    }
}

/// Draws `report`'s gap-error histogram into `path` (PNG, 1200 × 640), written to a
/// temporary file beside it and renamed, so a reader never sees half a picture.
pub fn gap_error_png(report: &Report, path: &Path) -> Result<()> {
    fonts()?;
    let bars = &report.gap_error_histogram;
    let p = report
        .gap_error
        .ok_or_else(|| anyhow!("--plot: no gap errors were measured"))?;
    let gaps: u64 = bars.iter().map(|b| b.count).sum();
    let top = bars.iter().map(|b| b.count).max().unwrap_or(1).max(1) as f64;
    let mut rgb = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (WIDTH, HEIGHT)).into_drawing_area();
        let draw = |e: &dyn std::fmt::Display| anyhow!("--plot: drawing: {e}");
        root.fill(&WHITE).map_err(|e| draw(&e))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!(
                    "replay gap error: {gaps} gaps, {} packets to {}",
                    report.packets, report.sink
                ),
                (FAMILY, 22),
            )
            .margin(16)
            .x_label_area_size(56)
            .y_label_area_size(80)
            .build_cartesian_2d(
                (0u32..bars.len() as u32).into_segmented(),
                (0.7f64..top * 3.0).log_scale(),
            )
            .map_err(|e| draw(&e))?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(bars.len())
            .x_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => bars.get(*i as usize).map(label).unwrap_or_default(),
                _ => String::new(),
            })
            .y_label_formatter(&|v| format!("{v:.0}"))
            .x_label_style((FAMILY, 12))
            .y_label_style((FAMILY, 13))
            .x_desc("|actual gap - original gap|, up to")
            .y_desc("gaps (log scale)")
            .axis_desc_style((FAMILY, 15))
            .draw()
            .map_err(|e| draw(&e))?;
        chart
            .draw_series(
                bars.iter()
                    .enumerate()
                    .filter(|(_, b)| b.count > 0)
                    .map(|(i, b)| {
                        let i = i as u32;
                        let mut r = Rectangle::new(
                            [
                                (SegmentValue::Exact(i), 0.7),
                                (SegmentValue::Exact(i + 1), b.count as f64),
                            ],
                            BLUE.mix(0.6).filled(),
                        );
                        r.set_margin(0, 0, 3, 3);
                        r
                    }),
            )
            .map_err(|e| draw(&e))?;
        let lines = [
            format!("p50   {}", ns(p.p50_ns)),
            format!("p90   {}", ns(p.p90_ns)),
            format!("p99   {}", ns(p.p99_ns)),
            format!("p99.9 {}", ns(p.p999_ns)),
            format!("max   {}", ns(p.max_ns)),
            format!("planned {}", ns(report.planned_ns)),
            format!("actual  {}", ns(report.actual_ns)),
        ];
        for (k, line) in lines.iter().enumerate() {
            root.draw(&Text::new(
                line.as_str(),
                (WIDTH as i32 - 250, 70 + 20 * k as i32),
                (FAMILY, 15).into_font().color(&BLACK),
            ))
            .map_err(|e| draw(&e))?;
        }
        root.present().map_err(|e| draw(&e))?;
    }
    write_png(path, &rgb)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_are_labelled_by_their_upper_bound() {
        let l = |u| {
            label(&Bucket {
                upper_ns: u,
                count: 0,
            })
        };
        assert_eq!(l(Some(100)), "100ns");
        assert_eq!(l(Some(2_000)), "2µs");
        assert_eq!(l(Some(500_000_000)), "500ms");
        assert_eq!(l(Some(1_000_000_000)), "1s");
        assert_eq!(l(None), ">1s");
    }
}
