//! `wiretape verify`.

use anyhow::Result;
use serde_json::json;
use wiretape_store::units::format_bytes;
use wiretape_store::verify::{verify, Severity};

use crate::cli::VerifyArgs;
use crate::exit;
use crate::output::{line, progress};

pub fn run(a: VerifyArgs) -> Result<u8> {
    let total: u64 = wiretape_store::list_segments(&a.data)?
        .iter()
        .filter_map(|s| std::fs::metadata(&s.path).ok())
        .map(|m| m.len())
        .sum();
    let pb = progress(total, true, !a.no_progress && !a.json);
    pb.set_message("verify");
    let report = verify(&a.data, |b| pb.set_position(b))?;
    pb.finish_and_clear();
    let errors = report
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    if a.json {
        let findings: Vec<_> = report
            .findings
            .iter()
            .map(|f| {
                json!({
                    "severity": format!("{:?}", f.severity).to_lowercase(),
                    "file": f.path,
                    "block": f.block,
                    "offset": f.offset,
                    "what": f.what,
                })
            })
            .collect();
        line(
            &json!({
                "ok": report.ok(),
                "segments": report.segments,
                "blocks": report.blocks,
                "bytes": report.bytes,
                "manifest_entries": report.manifest_entries,
                "removed_by_retention": report.removed_by_retention,
                "errors": errors,
                "findings": findings,
            })
            .to_string(),
        )?;
    } else {
        for f in &report.findings {
            line(&f.to_string())?;
        }
        line(&format!(
            "{}: {} segments, {} blocks, {} checked; manifest {} entries ({} removals by retention); {errors} error(s)",
            if report.ok() { "OK" } else { "DAMAGED" },
            report.segments,
            report.blocks,
            format_bytes(report.bytes),
            report.manifest_entries,
            report.removed_by_retention,
        ))?;
    }
    Ok(if report.ok() { exit::OK } else { exit::DAMAGE })
}
