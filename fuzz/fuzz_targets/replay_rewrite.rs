//! `replay`'s operator text and the frames it rewrites: `--sink` (`SinkSpec::parse`),
//! `--map-mac/-ip/-port/-group/-session`, `--vlan`, `--ttl`, then `Rewrite::apply` over a
//! captured frame (as hostile as any input).
//!
//! Input: option lines up to the first NUL byte (`m A=B`, `i CIDR=CIDR`, `p A=B`,
//! `g G=G`, `s OLD=NEW`, `v set:N|strip`, `t N`, `k SINK`), then the frame.
//!
//! Oracles besides "never panics": a refused option or sink says why in words; a parsed
//! sink that sends names a non-empty device; an empty rewrite changes nothing; the frame
//! grows or shrinks only by a VLAN tag; and an IPv4 header checksum that verified before
//! the rewrite still verifies after it (incremental adjustment, RFC 1624).

#![no_main]

use libfuzzer_sys::fuzz_target;
use wiretape_replay::rewrite::Rewrite;
use wiretape_replay::SinkSpec;
use wiretape_wire::ipv4;
use wiretape_wire::packet::Dissected;

/// The IPv4 header checksum's verdict, if the frame has a whole IPv4 header.
fn ipv4_ok(frame: &[u8]) -> Option<bool> {
    let d = Dissected::parse(1, frame);
    let l3 = d.l3_offset?;
    if !matches!(d.src_ip, Some(std::net::IpAddr::V4(_))) || d.arp.is_some() {
        return None;
    }
    let p = ipv4::Packet::new_checked(&frame[l3..]).ok()?;
    Some(p.verify_checksum())
}

fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    let (text, frame) = (&data[..split], data.get(split + 1..).unwrap_or(&[]));
    let Ok(text) = std::str::from_utf8(text) else {
        return;
    };
    let mut r = Rewrite::default();
    for line in text.lines() {
        let (kind, value) = line.split_once(' ').unwrap_or((line, ""));
        let result = match kind {
            "m" => r.add_mac(value),
            "i" => r.add_ip(value),
            "p" => r.add_port(value),
            "g" => r.add_group(value),
            "s" => r.add_session(value),
            "v" => r.set_vlan(value),
            "t" => value
                .parse::<u8>()
                .map(|t| r.ttl = Some(t))
                .map_err(|e| e.to_string()),
            "k" => match SinkSpec::parse(value) {
                Ok(spec) => {
                    if let Some(dev) = spec.device() {
                        assert!(!dev.is_empty(), "{value:?}: a sink on an unnamed device");
                    }
                    Ok(())
                }
                Err(e) => Err(e),
            },
            _ => Ok(()),
        };
        if let Err(e) = result {
            assert!(!e.is_empty(), "{line:?}: refused without a word");
        }
    }
    let mut f = frame.to_vec();
    let changed = r.apply(1, &mut f);
    assert_eq!(changed, f != frame, "apply's verdict and the bytes disagree");
    if r.is_empty() {
        assert_eq!(f, frame, "an empty rewrite changed the frame");
    }
    let grown = f.len() as i64 - frame.len() as i64;
    assert!(
        [-4, 0, 4].contains(&grown),
        "the frame changed length by {grown}"
    );
    if ipv4_ok(frame) == Some(true) && grown == 0 {
        assert_eq!(ipv4_ok(&f), Some(true), "a right IPv4 checksum went wrong");
    }
});
