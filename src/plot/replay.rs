//! `replay --plot FILE.png`: the gap-error histogram of a replay.

use std::path::Path;

use anyhow::{anyhow, Result};
use plotters::prelude::*;
use wiretape_replay::report::Bucket;
use wiretape_replay::Report;

use super::{short_ns, Drawn, FAMILY, INK, SERIES, WIDTH};
use crate::output::span as ns;

/// A bar's label: its upper bound (`500ns`, `2µs`, `1s`) or `>1s`.
fn label(b: &Bucket) -> String {
    match b.upper_ns {
        None => ">1s".to_owned(),
        Some(n) => short_ns(n),
    }
}

/// Draws `report`'s gap-error histogram into `path` (PNG, 1200 × 640).
pub fn gap_error_png(report: &Report, path: &Path) -> Result<()> {
    let bars = &report.gap_error_histogram;
    let p = report
        .gap_error
        .ok_or_else(|| anyhow!("--plot: no gap errors were measured"))?;
    let gaps: u64 = bars.iter().map(|b| b.count).sum();
    let top = bars.iter().map(|b| b.count).max().unwrap_or(1).max(1) as f64;
    super::png(path, |root| {
        let mut chart = ChartBuilder::on(root)
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
            .drawn()?;
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
            .drawn()?;
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
                            SERIES.filled(),
                        );
                        r.set_margin(0, 0, 3, 3);
                        r
                    }),
            )
            .drawn()?;
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
                (FAMILY, 15).into_font().color(&INK),
            ))
            .drawn()?;
        }
        Ok(())
    })
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
