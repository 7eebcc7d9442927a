//! Opening the sources a recording names, one [`Source`] per capture thread.

use wiretape_capture::afpacket::{self, AfPacketConfig};
use wiretape_capture::live::{PcapSource, SourceSpec, SynthSource};
use wiretape_capture::source::{Source, SourceError};

use crate::settings::Settings;

/// Sources that cannot be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// A source that cannot be opened, with the specification that named it.
    #[error("--source {spec}")]
    Source {
        spec: String,
        #[source]
        source: SourceError,
    },
    /// A dpdk source in a build without the `dpdk` feature.
    #[error("--source {spec}: this wiretape was built without DPDK; build it with `cargo build --release --features dpdk` (needs libdpdk-dev, libclang-dev and pkg-config)")]
    NoDpdk { spec: String },
    /// A capture filter without a source that can apply it.
    #[error("--filter applies to afpacket sources only")]
    FilterWithoutAfPacket,
}

/// The sources named by the settings, one per capture thread (an afpacket source with
/// `threads=N` is N fanout members).
pub fn open_sources(s: &Settings) -> Result<Vec<Box<dyn Source>>, OpenError> {
    let mut out: Vec<Box<dyn Source>> = Vec::new();
    let mut filtered = false;
    for spec in &s.sources {
        let err = |source| OpenError::Source {
            spec: spec.clone(),
            source,
        };
        match SourceSpec::parse(spec).map_err(err)? {
            SourceSpec::Synth(o) => out.push(Box::new(SynthSource::new(&o).map_err(err)?)),
            SourceSpec::Pcap(p) => out.push(Box::new(PcapSource::open(p, s.pace).map_err(err)?)),
            SourceSpec::AfPacket {
                interface,
                threads,
                block_size,
                block_count,
            } => {
                let threads = threads.or(s.threads).unwrap_or(1);
                if !(1..=64).contains(&threads) {
                    return Err(err(SourceError::Config(
                        "threads must be between 1 and 64".into(),
                    )));
                }
                let mut cfg = AfPacketConfig::new(interface);
                cfg.threads = threads;
                if let Some(b) = block_size {
                    cfg.block_size = b;
                }
                if let Some(n) = block_count {
                    cfg.block_count = n;
                }
                cfg.snaplen = s.snaplen;
                filtered = true;
                cfg.filter = s
                    .filter
                    .as_deref()
                    .map(|f| afpacket::compile_filter(f, s.snaplen))
                    .transpose()
                    .map_err(err)?;
                for src in afpacket::open(&cfg).map_err(err)? {
                    out.push(Box::new(src));
                }
            }
            #[cfg(feature = "dpdk")]
            SourceSpec::Dpdk {
                port,
                queues,
                mbufs,
                rx_descriptors,
            } => {
                use wiretape_capture::dpdk::{self, DpdkConfig};
                let eal = dpdk::split_eal_args(s.eal.as_deref().unwrap_or(""));
                let mut cfg = DpdkConfig::new(port, eal);
                cfg.queues = queues.unwrap_or(1);
                cfg.mbufs = mbufs.unwrap_or(DpdkConfig::DEFAULT_MBUFS);
                cfg.rx_descriptors = rx_descriptors.unwrap_or(DpdkConfig::DEFAULT_RX_DESCRIPTORS);
                cfg.snaplen = s.snaplen;
                for src in dpdk::open(&cfg).map_err(err)? {
                    out.push(Box::new(src));
                }
            }
            #[cfg(not(feature = "dpdk"))]
            SourceSpec::Dpdk { .. } => return Err(OpenError::NoDpdk { spec: spec.clone() }),
        }
    }
    if s.filter.is_some() && !filtered {
        return Err(OpenError::FilterWithoutAfPacket);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_dpdk_a_dpdk_source_says_how_to_build_it() {
        let e = OpenError::NoDpdk {
            spec: "dpdk:0".into(),
        }
        .to_string();
        assert!(
            e.contains("built without DPDK") && e.contains("--features dpdk"),
            "{e}"
        );
        // A build without the feature gives it for a dpdk source (with it, the EAL would
        // start here: `tests/e2e/dpdk.rs` opens ports in processes of their own).
        #[cfg(not(feature = "dpdk"))]
        {
            let s = Settings::new(std::path::Path::new("/nonexistent"), &["dpdk:0"]);
            let e = open_sources(&s).err().expect("refused").to_string();
            assert!(e.contains("built without DPDK"), "{e}");
        }
    }
}
