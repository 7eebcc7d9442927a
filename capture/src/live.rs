//! Sources that are not network interfaces: the synthetic trading feed generated live, and
//! capture files replayed through the live path.
//!
//! * `synth[:rate=PPS|max][,seed=N][,symbols=N]` — [`SynthSource`]: the traffic of
//!   `wiretape gen`. By default at the generator's own pace (its microbursts and quiet gaps,
//!   about 16k packets/s), with timestamps on the real clock: the first packet is stamped
//!   when the source opens. `rate=PPS` sends exactly PPS packets per second, evenly spaced
//!   and stamped when sent; `rate=max` as fast as the recorder takes them, stamped on the
//!   generator's timeline (which then runs ahead of the clock).
//! * `pcap:FILE` — [`PcapSource`]: a pcap or pcapng file, as fast as possible or, with
//!   `pace`, at its original pace (the gaps between packets kept); timestamps are the file's.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use wiretape_store::{ClockSource, OwnedPacket, Packet};

use crate::source::{Capabilities, Poll, Source, SourceError, SourceStats};
use crate::synth::{Config, Generator};
use crate::CaptureReader;

/// The longest a live source sleeps in one poll waiting for its next packet.
const MAX_WAIT: Duration = Duration::from_millis(100);

fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// How fast [`SynthSource`] sends.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SynthRate {
    /// The generator's own timeline, in real time.
    Natural,
    /// This many packets per second, evenly spaced.
    PerSecond(f64),
    /// As fast as taken.
    Max,
}

/// Options of a `synth` source.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthOptions {
    pub rate: SynthRate,
    pub seed: u64,
    pub symbols: usize,
}

impl Default for SynthOptions {
    fn default() -> Self {
        SynthOptions {
            rate: SynthRate::Natural,
            seed: 1,
            symbols: Config::default().symbols,
        }
    }
}

/// The synthetic feed, live. See the [module documentation](self).
pub struct SynthSource {
    name: String,
    gen: Generator,
    rate: SynthRate,
    /// The next packet, when `have`.
    buf: OwnedPacket,
    have: bool,
    started: Instant,
    /// Generator time of the first packet.
    origin_ns: u64,
    sent: u64,
    stats: SourceStats,
}

impl SynthSource {
    pub fn new(opts: &SynthOptions) -> Result<SynthSource, SourceError> {
        let start = now_ns();
        let gen = Generator::new(Config {
            seed: opts.seed,
            symbols: opts.symbols,
            start_ns: start,
            ..Config::default()
        })
        .map_err(|e| SourceError::Config(format!("synth: {e}")))?;
        Ok(SynthSource {
            name: "synth".to_owned(),
            gen,
            rate: opts.rate,
            buf: OwnedPacket {
                ts_ns: 0,
                orig_len: 0,
                link_type: 0,
                iface: 0,
                flags: 0,
                data: Vec::new(),
            },
            have: false,
            started: Instant::now(),
            origin_ns: start,
            sent: 0,
            stats: SourceStats::default(),
        })
    }

    /// When (since `started`) the pending packet is due, and its timestamp.
    fn due(&self, p: &OwnedPacket) -> (Duration, u64) {
        match self.rate {
            SynthRate::Natural => {
                let d = Duration::from_nanos(p.ts_ns.saturating_sub(self.origin_ns));
                (d, p.ts_ns)
            }
            SynthRate::PerSecond(pps) => {
                let d = Duration::from_secs_f64(self.sent as f64 / pps);
                (d, 0)
            }
            SynthRate::Max => (Duration::ZERO, p.ts_ns),
        }
    }
}

impl Source for SynthSource {
    fn poll(
        &mut self,
        max: usize,
        f: &mut dyn FnMut(&Packet<'_>) -> Result<(), SourceError>,
    ) -> Result<Poll, SourceError> {
        let mut n = 0;
        while n < max {
            if !self.have {
                if !self.gen.fill(&mut self.buf) {
                    return Ok(if n > 0 { Poll::Packets(n) } else { Poll::End });
                }
                self.have = true;
            }
            let (due, ts) = self.due(&self.buf);
            let elapsed = self.started.elapsed();
            if due > elapsed {
                if n > 0 {
                    break;
                }
                std::thread::sleep((due - elapsed).min(MAX_WAIT));
                if due > self.started.elapsed() {
                    return Ok(Poll::Idle);
                }
            }
            self.buf.ts_ns = if ts == 0 { now_ns() } else { ts };
            f(&self.buf.as_packet())?;
            self.have = false;
            self.stats.packets += 1;
            self.stats.received += 1;
            self.stats.bytes += u64::from(self.buf.orig_len);
            self.sent += 1;
            n += 1;
        }
        Ok(if n > 0 { Poll::Packets(n) } else { Poll::Idle })
    }

    fn stats(&mut self) -> SourceStats {
        self.stats
    }

    fn clock(&self) -> ClockSource {
        ClockSource::Synthetic
    }

    fn name(&self) -> &str {
        &self.name
    }
}

/// A capture file through the live path. See the [module documentation](self).
pub struct PcapSource {
    name: String,
    path: PathBuf,
    reader: CaptureReader<std::fs::File>,
    pace: bool,
    first_ts: Option<u64>,
    started: Instant,
    pending: Option<OwnedPacket>,
    stats: SourceStats,
    file_len: Option<u64>,
}

impl PcapSource {
    pub fn open(path: PathBuf, pace: bool) -> Result<PcapSource, SourceError> {
        let reader = CaptureReader::open(&path)?;
        let file_len = std::fs::metadata(&path).ok().map(|m| m.len());
        Ok(PcapSource {
            name: format!("pcap:{}", path.display()),
            path,
            reader,
            pace,
            first_ts: None,
            started: Instant::now(),
            pending: None,
            stats: SourceStats::default(),
            file_len,
        })
    }

    /// The file's size, for a progress bar.
    pub fn file_len(&self) -> Option<u64> {
        self.file_len
    }

    /// Bytes of the file read so far.
    pub fn position(&self) -> u64 {
        self.reader.offset()
    }

    /// The file.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }
}

impl Source for PcapSource {
    fn poll(
        &mut self,
        max: usize,
        f: &mut dyn FnMut(&Packet<'_>) -> Result<(), SourceError>,
    ) -> Result<Poll, SourceError> {
        let mut n = 0;
        while n < max {
            let p = match self.pending.take() {
                Some(p) => p,
                None => match self.reader.next_packet()? {
                    Some(p) => p.to_owned(),
                    None => return Ok(if n > 0 { Poll::Packets(n) } else { Poll::End }),
                },
            };
            if self.pace {
                let first = *self.first_ts.get_or_insert(p.ts_ns);
                let due = Duration::from_nanos(p.ts_ns.saturating_sub(first));
                let elapsed = self.started.elapsed();
                if due > elapsed {
                    self.pending = Some(p);
                    if n > 0 {
                        break;
                    }
                    std::thread::sleep((due - elapsed).min(MAX_WAIT));
                    return Ok(Poll::Idle);
                }
            }
            f(&p.as_packet())?;
            self.stats.packets += 1;
            self.stats.received += 1;
            self.stats.bytes += u64::from(p.orig_len);
            n += 1;
        }
        Ok(Poll::Packets(n))
    }

    fn stats(&mut self) -> SourceStats {
        self.stats
    }

    fn clock(&self) -> ClockSource {
        ClockSource::Unspecified
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn progress(&self) -> Option<(u64, u64)> {
        Some((self.reader.offset(), self.file_len?))
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            finite: true,
            pin: false,
            core: None,
        }
    }
}

/// What `--source` names.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceSpec {
    Synth(SynthOptions),
    Pcap(PathBuf),
    AfPacket {
        interface: String,
        threads: Option<usize>,
        block_size: Option<usize>,
        block_count: Option<usize>,
    },
    /// A DPDK port (a number or a device name) and its RX queues (built with the `dpdk`
    /// feature; the spec parses either way, so a build without it can say so).
    Dpdk {
        port: String,
        queues: Option<u16>,
        /// Mbufs in each queue's pool (`mbufs=`; default 8191).
        mbufs: Option<u32>,
        /// RX descriptors per queue (`rxd=`; default 1024, adjusted to the device).
        rx_descriptors: Option<u16>,
    },
}

fn parse_kv(s: &str) -> impl Iterator<Item = Result<(&str, &str), SourceError>> {
    s.split(',').filter(|p| !p.is_empty()).map(|p| {
        p.split_once('=')
            .ok_or_else(|| SourceError::Config(format!("expected key=value, found {p:?}")))
    })
}

fn num<T: std::str::FromStr>(key: &str, v: &str) -> Result<T, SourceError> {
    v.parse()
        .map_err(|_| SourceError::Config(format!("{key}={v}: not a valid number")))
}

impl SourceSpec {
    /// Parses `synth[:opts]`, `pcap:FILE`, `afpacket:IFACE[,threads=N][,block-size=B][,blocks=N]`
    /// (`B` a byte count or a size with its unit, `4MiB`), `dpdk:PORT[,queues=N][,mbufs=N][,rxd=N]`.
    pub fn parse(s: &str) -> Result<SourceSpec, SourceError> {
        let (kind, rest) = s.split_once(':').unwrap_or((s, ""));
        match kind {
            "synth" => {
                let mut o = SynthOptions::default();
                for kv in parse_kv(rest) {
                    let (k, v) = kv?;
                    match k {
                        "rate" if v == "max" => o.rate = SynthRate::Max,
                        "rate" => {
                            let pps: f64 = num(k, v)?;
                            if !(pps > 0.0 && pps.is_finite()) {
                                return Err(SourceError::Config(format!(
                                    "rate={v}: must be a positive number of packets per second, or max"
                                )));
                            }
                            o.rate = SynthRate::PerSecond(pps);
                        }
                        "seed" => o.seed = num(k, v)?,
                        "symbols" => o.symbols = num(k, v)?,
                        _ => {
                            return Err(SourceError::Config(format!(
                                "synth: unknown option {k:?} (rate, seed, symbols)"
                            )))
                        }
                    }
                }
                Ok(SourceSpec::Synth(o))
            }
            "pcap" if !rest.is_empty() => Ok(SourceSpec::Pcap(PathBuf::from(rest))),
            "afpacket" => {
                let mut parts = rest.splitn(2, ',');
                let interface = parts.next().unwrap_or("").to_owned();
                if interface.is_empty() {
                    return Err(SourceError::Config(
                        "afpacket: name the interface (afpacket:eth1)".to_owned(),
                    ));
                }
                let (mut threads, mut block_size, mut block_count) = (None, None, None);
                for kv in parse_kv(parts.next().unwrap_or("")) {
                    let (k, v) = kv?;
                    match k {
                        "threads" => threads = Some(num(k, v)?),
                        "block-size" => {
                            // A size with its unit (4MiB) or a byte count.
                            let b = wiretape_store::units::parse_size(v).map_err(|e| {
                                SourceError::Config(format!("afpacket: block-size={v}: {e}"))
                            })?;
                            block_size = Some(usize::try_from(b).map_err(|_| {
                                SourceError::Config(format!("afpacket: block-size={v}: too large"))
                            })?);
                        }
                        "blocks" => block_count = Some(num(k, v)?),
                        _ => {
                            return Err(SourceError::Config(format!(
                                "afpacket: unknown option {k:?} (threads, block-size, blocks)"
                            )))
                        }
                    }
                }
                Ok(SourceSpec::AfPacket {
                    interface,
                    threads,
                    block_size,
                    block_count,
                })
            }
            "dpdk" => {
                let mut parts = rest.splitn(2, ',');
                let port = parts.next().unwrap_or("").to_owned();
                if port.is_empty() {
                    return Err(SourceError::Config(
                        "dpdk: name the port (dpdk:0, dpdk:net_pcap0, dpdk:0000:01:00.0)"
                            .to_owned(),
                    ));
                }
                let (mut queues, mut mbufs, mut rx_descriptors) = (None, None, None);
                for kv in parse_kv(parts.next().unwrap_or("")) {
                    let (k, v) = kv?;
                    match k {
                        "queues" => queues = Some(num(k, v)?),
                        "mbufs" => mbufs = Some(num(k, v)?),
                        "rxd" => rx_descriptors = Some(num(k, v)?),
                        _ => {
                            return Err(SourceError::Config(format!(
                                "dpdk: unknown option {k:?} (queues, mbufs, rxd)"
                            )))
                        }
                    }
                }
                Ok(SourceSpec::Dpdk {
                    port,
                    queues,
                    mbufs,
                    rx_descriptors,
                })
            }
            _ => Err(SourceError::Config(format!(
                "unknown source {s:?}: use synth[:rate=PPS], pcap:FILE, afpacket:IFACE[,threads=N] \
                 or dpdk:PORT[,queues=N]"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse() {
        assert_eq!(
            SourceSpec::parse("synth").unwrap(),
            SourceSpec::Synth(SynthOptions::default())
        );
        assert!(matches!(
            SourceSpec::parse("synth:rate=1000,seed=3").unwrap(),
            SourceSpec::Synth(SynthOptions { rate: SynthRate::PerSecond(r), seed: 3, .. }) if r == 1000.0
        ));
        assert_eq!(
            SourceSpec::parse("afpacket:eth1,threads=2").unwrap(),
            SourceSpec::AfPacket {
                interface: "eth1".into(),
                threads: Some(2),
                block_size: None,
                block_count: None
            }
        );
        for (spec, bytes) in [("4MiB", 4 << 20), ("65536", 65536)] {
            assert_eq!(
                SourceSpec::parse(&format!("afpacket:eth1,block-size={spec},blocks=8")).unwrap(),
                SourceSpec::AfPacket {
                    interface: "eth1".into(),
                    threads: None,
                    block_size: Some(bytes),
                    block_count: Some(8)
                }
            );
        }
        assert_eq!(
            SourceSpec::parse("dpdk:0000:01:00.0,queues=4,mbufs=65535,rxd=4096").unwrap(),
            SourceSpec::Dpdk {
                port: "0000:01:00.0".into(),
                queues: Some(4),
                mbufs: Some(65535),
                rx_descriptors: Some(4096),
            }
        );
        assert_eq!(
            SourceSpec::parse("dpdk:net_pcap0").unwrap(),
            SourceSpec::Dpdk {
                port: "net_pcap0".into(),
                queues: None,
                mbufs: None,
                rx_descriptors: None,
            }
        );
        assert_eq!(
            SourceSpec::parse("pcap:/tmp/x.pcap").unwrap(),
            SourceSpec::Pcap("/tmp/x.pcap".into())
        );
        for bad in [
            "nic:eth0",
            "synth:rate=-1",
            "synth:rate=abc",
            "synth:colour=red",
            "afpacket:",
            "afpacket:eth0,threads=x",
            "afpacket:eth0,block-size=lots",
            "pcap:",
            "synth:rate",
            "dpdk:",
            "dpdk:0,queues=many",
            "dpdk:0,rings=2",
            "dpdk:0,mbufs=-1",
            "dpdk:0,rxd=70000",
        ] {
            assert!(SourceSpec::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn synth_at_max_rate_delivers_the_generators_packets() {
        let mut s = SynthSource::new(&SynthOptions {
            rate: SynthRate::Max,
            ..SynthOptions::default()
        })
        .unwrap();
        let mut got = Vec::new();
        while got.len() < 1000 {
            match s.poll(64, &mut |p| {
                got.push(p.to_owned());
                Ok(())
            }) {
                Ok(Poll::Packets(n)) => assert!(n <= 64),
                other => panic!("{other:?}"),
            }
        }
        // Same bytes as the generator's own output.
        let mut g = Generator::new(Config {
            start_ns: got[0].ts_ns,
            ..Config::default()
        })
        .unwrap();
        for p in &got {
            let q = g.next_packet().unwrap();
            assert_eq!(p.data, q.data);
            assert_eq!(p.ts_ns, q.ts_ns);
        }
        assert_eq!(s.stats().packets, got.len() as u64);
    }

    #[test]
    fn synth_at_a_fixed_rate_is_paced_by_the_clock() {
        let mut s = SynthSource::new(&SynthOptions {
            rate: SynthRate::PerSecond(2000.0),
            ..SynthOptions::default()
        })
        .unwrap();
        let started = Instant::now();
        let mut n = 0;
        while n < 200 {
            if let Poll::Packets(k) = s.poll(1000, &mut |_| Ok(())).unwrap() {
                n += k;
            }
        }
        // 200 packets at 2000/s take at least ~0.1 s (the first goes at once).
        assert!(
            started.elapsed() >= Duration::from_millis(99),
            "{:?}",
            started.elapsed()
        );
    }
}
