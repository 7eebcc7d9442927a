//! pcap / pcapng bytes → `CaptureReader`, every packet read until the end or an error.
//!
//! Oracles besides "never panics": every packet's bytes fit in the input, every error names
//! the file (`fuzz: offset N: ...`), and reading the same bytes through a reader that hands
//! out a few bytes at a time gives the same packets and the same error (the streaming input
//! must not depend on how `read` splits the file).

#![no_main]

use std::io::{Cursor, Read};

use libfuzzer_sys::fuzz_target;
use wiretape_capture::CaptureReader;

/// A reader returning at most `chunk` bytes per call, like a pipe or a slow disk.
struct Trickle<'a> {
    data: &'a [u8],
    chunk: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = self.data.len().min(self.chunk).min(out.len());
        out[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// What a reader produced: (ts, orig_len, link_type, iface, flags, data) per packet, then the
/// error it stopped on, if any.
type Outcome = (Vec<(u64, u32, u16, u16, u32, Vec<u8>)>, Option<String>);

fn read_all<R: Read>(reader: R, input_len: usize) -> Outcome {
    let mut packets = Vec::new();
    let mut r = match CaptureReader::from_reader(reader, "fuzz") {
        Ok(r) => r,
        Err(e) => return (packets, Some(check_error(e))),
    };
    let _ = (r.format(), r.pcap_link_type_field(), r.file_len(), r.path());
    loop {
        match r.next_packet() {
            Ok(Some(p)) => {
                assert!(p.data.len() <= input_len, "packet larger than the file");
                packets.push((
                    p.ts_ns,
                    p.orig_len,
                    p.link_type,
                    p.iface,
                    p.flags,
                    p.data.to_vec(),
                ));
                let _ = (r.offset(), r.bytes_read(), r.packets_read());
            }
            Ok(None) => break,
            Err(e) => {
                let _ = e.is_truncation();
                let e = check_error(e);
                // After an error the reader is done, for good.
                assert!(
                    matches!(r.next_packet(), Ok(None)),
                    "reader goes on after {e}"
                );
                return (packets, Some(e));
            }
        }
    }
    assert!(
        matches!(r.next_packet(), Ok(None)),
        "reader goes on after its end"
    );
    assert_eq!(r.packets_read(), packets.len() as u64);
    (packets, None)
}

fn check_error(e: wiretape_capture::ReadError) -> String {
    let s = e.to_string();
    assert!(
        s.starts_with("fuzz: offset "),
        "error without file and offset: {s}"
    );
    s
}

fuzz_target!(|data: &[u8]| {
    let whole = read_all(Cursor::new(data), data.len());
    // Chosen by the input, so that each input replays the same way: 1 to 7 bytes per read for
    // small inputs, a few hundred for larger ones. (Every `read` call costs the reader a
    // 256 KiB zero fill of its buffer, so byte-sized reads of a large input are too slow.)
    let chunk = if data.len() <= 256 {
        1 + data.len() % 7
    } else {
        200 + data.len() % 317
    };
    let trickled = read_all(Trickle { data, chunk }, data.len());
    assert_eq!(
        whole, trickled,
        "reads of {chunk} bytes give another result"
    );
});
