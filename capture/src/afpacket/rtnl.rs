//! An interface's queueing disciplines, through rtnetlink: the bytes of one `RTM_GETQDISC`
//! dump request, and the parsing of the kernel's replies into [`Qdisc`]s. No I/O and no
//! `unsafe` here (the socket round-trip is in `txtime.rs`), so the parsing is tested on byte
//! fixtures, hostile ones included: a truncated or lying length is an error, never a panic
//! or a read past the buffer.
//!
//! A reply datagram holds netlink messages back to back, each 4-aligned:
//!
//! ```text
//! nlmsghdr (16): len u32, type u16, flags u16, seq u32, pid u32      (host byte order)
//!   RTM_NEWQDISC: tcmsg (20): family u8, pad u8, pad u16, ifindex i32, handle u32,
//!                             parent u32, info u32
//!                 then attributes (rtattr: len u16, type u16, value, padded to 4):
//!                   TCA_KIND (1): the qdisc's name, NUL-terminated ("etf", "noqueue")
//!                   TCA_OPTIONS (2): for "etf", nested: TCA_ETF_PARMS (1) =
//!                     struct tc_etf_qopt { s32 delta; s32 clockid; u32 flags }
//!   NLMSG_DONE (3): the dump is over;  NLMSG_ERROR (2): s32 -errno, then the request
//! ```

/// `RTM_NEWQDISC`: the type of each qdisc in a dump's reply.
const RTM_NEWQDISC: u16 = 36;
/// `RTM_GETQDISC`.
const RTM_GETQDISC: u16 = 38;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_REQUEST: u16 = 1;
/// `NLM_F_ROOT | NLM_F_MATCH`.
const NLM_F_DUMP: u16 = 0x300;
/// Set on a dump's messages when what it lists changed while it was being dumped.
const NLM_F_DUMP_INTR: u16 = 0x10;
const NLMSG_HDRLEN: usize = 16;
const TCMSG_LEN: usize = 20;
const TCA_KIND: u16 = 1;
const TCA_OPTIONS: u16 = 2;
const TCA_ETF_PARMS: u16 = 1;
/// The type bits of an attribute's type (without `NLA_F_NESTED`, `NLA_F_NET_BYTEORDER`).
const NLA_TYPE_MASK: u16 = 0x3fff;

/// `TC_H_ROOT`: the parent of an interface's root qdisc.
pub(crate) const TC_H_ROOT: u32 = 0xffff_ffff;
/// `TC_H_INGRESS` (also `TC_H_CLSACT`): the parent of the ingress/clsact qdisc, which sees
/// received packets only.
pub(crate) const TC_H_INGRESS: u32 = 0xffff_fff1;

/// `TC_ETF_DEADLINE_MODE_ON`: the launch time is a deadline (the qdisc sends as soon as it can
/// and rewrites it); the socket must say the same (`SOF_TXTIME_DEADLINE_MODE`).
pub(crate) const TC_ETF_DEADLINE_MODE_ON: u32 = 1 << 0;
#[cfg(test)]
/// `TC_ETF_OFFLOAD_ON`: the NIC launches the packets at their time (the qdisc hands them
/// over `delta` ahead).
pub(crate) const TC_ETF_OFFLOAD_ON: u32 = 1 << 1;

/// An ETF qdisc's parameters (`struct tc_etf_qopt`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EtfParams {
    /// How long before a packet's launch time the qdisc hands it to the device, ns.
    pub delta_ns: i32,
    /// The clock the launch times are on (`CLOCK_TAI` = 11, usually).
    pub clockid: i32,
    /// `TC_ETF_*` flags: deadline mode, offload, skip the socket check.
    pub flags: u32,
}

/// One qdisc of a dump.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Qdisc {
    pub ifindex: i32,
    pub handle: u32,
    pub parent: u32,
    /// `TCA_KIND`, empty if the message had none.
    pub kind: String,
    /// For an `etf` qdisc, its parameters (`None` if the message did not carry them).
    pub etf: Option<EtfParams>,
}

impl Qdisc {
    /// A qdisc handle as `tc` writes it (`100:`, `1:2`).
    pub(crate) fn handle_text(h: u32) -> String {
        match h & 0xffff {
            0 => format!("{:x}:", h >> 16),
            minor => format!("{:x}:{minor:x}", h >> 16),
        }
    }
}

/// Why a reply could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DumpError {
    /// The kernel answered the request with an error (`NLMSG_ERROR`): the errno.
    Kernel(i32),
    /// The qdiscs changed during the dump (`NLM_F_DUMP_INTR`): ask again.
    Interrupted,
    /// The bytes are not a well-formed reply: what was wrong, at which offset.
    Malformed(&'static str, usize),
}

impl std::fmt::Display for DumpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DumpError::Kernel(errno) => write!(
                f,
                "the kernel refused the qdisc dump: {}",
                std::io::Error::from_raw_os_error(*errno)
            ),
            DumpError::Interrupted => f.write_str("the qdiscs changed during the dump"),
            DumpError::Malformed(what, at) => {
                write!(f, "malformed rtnetlink reply: {what} at byte {at}")
            }
        }
    }
}

/// The request: dump the qdiscs (of interface `ifindex`: the kernel may list every
/// interface's anyway, so [`parse_dump`]'s caller filters too).
pub fn dump_request(seq: u32, ifindex: i32) -> Vec<u8> {
    let len = NLMSG_HDRLEN + TCMSG_LEN;
    let mut b = Vec::with_capacity(len);
    b.extend_from_slice(&(len as u32).to_ne_bytes());
    b.extend_from_slice(&RTM_GETQDISC.to_ne_bytes());
    b.extend_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    b.extend_from_slice(&seq.to_ne_bytes());
    b.extend_from_slice(&0u32.to_ne_bytes()); // pid: the kernel fills in ours
    b.push(0); // tcm_family: AF_UNSPEC
    b.extend_from_slice(&[0; 3]);
    b.extend_from_slice(&ifindex.to_ne_bytes());
    b.extend_from_slice(&[0; 12]); // handle, parent, info
    b
}

fn align4(n: usize) -> usize {
    n.saturating_add(3) & !3
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Parses one reply datagram of the dump with sequence number `seq`, appending its qdiscs
/// to `out`; `Ok(true)` once the dump's `NLMSG_DONE` is seen. Messages of another sequence
/// number (a stray reply) are skipped.
pub fn parse_dump(datagram: &[u8], seq: u32, out: &mut Vec<Qdisc>) -> Result<bool, DumpError> {
    let mut at = 0;
    while at < datagram.len() {
        let bad = |what| Err(DumpError::Malformed(what, at));
        let rest = &datagram[at..];
        let (Some(len), Some(kind), Some(flags), Some(msg_seq)) = (
            u32_at(rest, 0),
            u16_at(rest, 4),
            u16_at(rest, 6),
            u32_at(rest, 8),
        ) else {
            return bad("truncated message header");
        };
        let len = len as usize;
        if len < NLMSG_HDRLEN || len > rest.len() {
            return bad("message length outside the datagram");
        }
        let body = &rest[NLMSG_HDRLEN..len];
        if msg_seq == seq {
            if flags & NLM_F_DUMP_INTR != 0 {
                return Err(DumpError::Interrupted);
            }
            match kind {
                NLMSG_DONE => return Ok(true),
                NLMSG_ERROR => {
                    let Some(code) = u32_at(body, 0) else {
                        return bad("truncated error message");
                    };
                    let code = code as i32;
                    // An error 0 is an acknowledgement, which a dump does not ask for.
                    if code != 0 {
                        return Err(DumpError::Kernel(code.saturating_neg()));
                    }
                }
                RTM_NEWQDISC => {
                    out.push(parse_qdisc(body).map_err(|(what, off)| {
                        DumpError::Malformed(what, at + NLMSG_HDRLEN + off)
                    })?)
                }
                _ => {} // NLMSG_NOOP and anything newer: nothing for us
            }
        }
        at += align4(len);
    }
    Ok(false)
}

/// One `RTM_NEWQDISC` body: the tcmsg and its attributes. Errors carry the offset in `body`.
fn parse_qdisc(body: &[u8]) -> Result<Qdisc, (&'static str, usize)> {
    let (Some(ifindex), Some(handle), Some(parent)) =
        (u32_at(body, 4), u32_at(body, 8), u32_at(body, 12))
    else {
        return Err(("truncated tcmsg", 0));
    };
    if body.len() < TCMSG_LEN {
        return Err(("truncated tcmsg", 0));
    }
    let mut q = Qdisc {
        ifindex: ifindex as i32,
        handle,
        parent,
        kind: String::new(),
        etf: None,
    };
    let mut options: Option<(&[u8], usize)> = None;
    for attr in Attrs::new(&body[TCMSG_LEN..], TCMSG_LEN) {
        let (kind, value, off) = attr?;
        match kind {
            TCA_KIND => {
                let name = value.split(|&c| c == 0).next().unwrap_or_default();
                q.kind = String::from_utf8_lossy(name).into_owned();
            }
            TCA_OPTIONS => options = Some((value, off)),
            _ => {}
        }
    }
    // The options' meaning depends on the kind, which may come after them.
    if let (Some((value, off)), "etf") = (options, q.kind.as_str()) {
        for attr in Attrs::new(value, off) {
            let (kind, v, voff) = attr?;
            if kind == TCA_ETF_PARMS {
                let (Some(delta), Some(clockid), Some(flags)) =
                    (u32_at(v, 0), u32_at(v, 4), u32_at(v, 8))
                else {
                    return Err(("truncated tc_etf_qopt", voff));
                };
                q.etf = Some(EtfParams {
                    delta_ns: delta as i32,
                    clockid: clockid as i32,
                    flags,
                });
            }
        }
    }
    Ok(q)
}

/// The attributes (`rtattr`/`nlattr`) in `b`: (type, value, the value's offset counted from
/// `base`). A length that is too short or runs past `b` ends the walk with an error.
struct Attrs<'a> {
    b: &'a [u8],
    at: usize,
    base: usize,
}

impl<'a> Attrs<'a> {
    fn new(b: &'a [u8], base: usize) -> Self {
        Attrs { b, at: 0, base }
    }
}

impl<'a> Iterator for Attrs<'a> {
    type Item = Result<(u16, &'a [u8], usize), (&'static str, usize)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.at >= self.b.len() {
            return None;
        }
        let here = self.base + self.at;
        let rest = &self.b[self.at..];
        let (Some(len), Some(kind)) = (u16_at(rest, 0), u16_at(rest, 2)) else {
            self.at = self.b.len();
            return Some(Err(("truncated attribute header", here)));
        };
        let len = usize::from(len);
        if len < 4 || len > rest.len() {
            self.at = self.b.len();
            return Some(Err(("attribute length outside its message", here)));
        }
        self.at += align4(len);
        Some(Ok((kind & NLA_TYPE_MASK, &rest[4..len], here + 4)))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A netlink message of `kind` with `body`, padded.
    pub(crate) fn message(kind: u16, flags: u16, seq: u32, body: &[u8]) -> Vec<u8> {
        let mut m = Vec::new();
        m.extend_from_slice(&((NLMSG_HDRLEN + body.len()) as u32).to_ne_bytes());
        m.extend_from_slice(&kind.to_ne_bytes());
        m.extend_from_slice(&flags.to_ne_bytes());
        m.extend_from_slice(&seq.to_ne_bytes());
        m.extend_from_slice(&4242u32.to_ne_bytes());
        m.extend_from_slice(body);
        m.resize(align4(m.len()), 0);
        m
    }

    fn attr(kind: u16, value: &[u8]) -> Vec<u8> {
        let mut a = Vec::new();
        a.extend_from_slice(&((4 + value.len()) as u16).to_ne_bytes());
        a.extend_from_slice(&kind.to_ne_bytes());
        a.extend_from_slice(value);
        a.resize(align4(a.len()), 0);
        a
    }

    fn tcmsg(ifindex: i32, handle: u32, parent: u32) -> Vec<u8> {
        let mut b = vec![0u8; 4];
        b.extend_from_slice(&ifindex.to_ne_bytes());
        b.extend_from_slice(&handle.to_ne_bytes());
        b.extend_from_slice(&parent.to_ne_bytes());
        b.extend_from_slice(&2u32.to_ne_bytes()); // refcnt
        b
    }

    /// An `RTM_NEWQDISC` message as the kernel sends it in a dump (`TCA_KIND`, then
    /// `TCA_OPTIONS`, then statistics the parser skips).
    pub(crate) fn qdisc_message(
        seq: u32,
        ifindex: i32,
        handle: u32,
        parent: u32,
        kind: &str,
        etf: Option<(i32, i32, u32)>,
    ) -> Vec<u8> {
        let mut body = tcmsg(ifindex, handle, parent);
        let mut name = kind.as_bytes().to_vec();
        name.push(0);
        body.extend(attr(TCA_KIND, &name));
        if let Some((delta, clockid, flags)) = etf {
            let mut parms = Vec::new();
            parms.extend_from_slice(&delta.to_ne_bytes());
            parms.extend_from_slice(&clockid.to_ne_bytes());
            parms.extend_from_slice(&flags.to_ne_bytes());
            body.extend(attr(TCA_OPTIONS | 0x8000, &attr(TCA_ETF_PARMS, &parms)));
        } else {
            body.extend(attr(TCA_OPTIONS, &[]));
        }
        body.extend(attr(7 /* TCA_STATS2 */, &[1, 2, 3, 4, 5, 6, 7, 8]));
        message(RTM_NEWQDISC, 2 /* NLM_F_MULTI */, seq, &body)
    }

    pub(crate) fn done(seq: u32) -> Vec<u8> {
        message(NLMSG_DONE, 2, seq, &0i32.to_ne_bytes())
    }

    #[test]
    fn the_request_is_a_dump_of_one_interface_s_qdiscs() {
        let r = dump_request(7, 12);
        assert_eq!(r.len(), 36);
        assert_eq!(u32_at(&r, 0), Some(36));
        assert_eq!(u16_at(&r, 4), Some(RTM_GETQDISC));
        assert_eq!(u16_at(&r, 6), Some(NLM_F_REQUEST | NLM_F_DUMP));
        assert_eq!(u32_at(&r, 8), Some(7));
        assert_eq!(u32_at(&r, 20), Some(12));
    }

    #[test]
    fn a_dump_gives_each_qdisc_with_the_etf_parameters() {
        let mut d = qdisc_message(5, 3, 0x0001_0000, TC_H_ROOT, "mq", None);
        d.extend(qdisc_message(
            5,
            3,
            0x8001_0000,
            0x0001_0001,
            "etf",
            Some((200_000, 11, TC_ETF_OFFLOAD_ON)),
        ));
        d.extend(qdisc_message(5, 3, 0, 0x0001_0002, "pfifo_fast", None));
        let mut out = Vec::new();
        assert_eq!(parse_dump(&d, 5, &mut out), Ok(false));
        assert_eq!(out.len(), 3);
        assert_eq!(out[0].kind, "mq");
        assert_eq!(out[0].parent, TC_H_ROOT);
        assert_eq!(out[0].etf, None);
        assert_eq!(
            out[1],
            Qdisc {
                ifindex: 3,
                handle: 0x8001_0000,
                parent: 0x0001_0001,
                kind: "etf".into(),
                etf: Some(EtfParams {
                    delta_ns: 200_000,
                    clockid: 11,
                    flags: TC_ETF_OFFLOAD_ON
                }),
            }
        );
        assert_eq!(out[2].kind, "pfifo_fast");
        // The next datagram ends the dump.
        let mut d = qdisc_message(5, 3, 0x0002_0000, TC_H_INGRESS, "ingress", None);
        d.extend(done(5));
        assert_eq!(parse_dump(&d, 5, &mut out), Ok(true));
        assert_eq!(out.len(), 4);
        assert_eq!(Qdisc::handle_text(0x8001_0000), "8001:");
        assert_eq!(Qdisc::handle_text(0x0001_0002), "1:2");
    }

    #[test]
    fn errors_interruptions_and_stray_replies() {
        let mut out = Vec::new();
        let mut err = (-libc::EOPNOTSUPP).to_ne_bytes().to_vec();
        err.extend(dump_request(9, 1));
        let e = message(NLMSG_ERROR, 0, 9, &err);
        assert_eq!(
            parse_dump(&e, 9, &mut out),
            Err(DumpError::Kernel(libc::EOPNOTSUPP))
        );
        // Another request's error and qdiscs are not ours.
        let mut d = e.clone();
        d.extend(qdisc_message(8, 1, 0, TC_H_ROOT, "noqueue", None));
        assert_eq!(parse_dump(&d, 10, &mut out), Ok(false));
        assert!(out.is_empty());
        let intr = message(RTM_NEWQDISC, 2 | NLM_F_DUMP_INTR, 9, &tcmsg(1, 0, 0));
        assert_eq!(parse_dump(&intr, 9, &mut out), Err(DumpError::Interrupted));
        // A kind that comes after its options, and an etf without parameters.
        let mut body = tcmsg(4, 0x0010_0000, TC_H_ROOT);
        body.extend(attr(TCA_OPTIONS, &attr(TCA_ETF_PARMS, &[0; 12])));
        body.extend(attr(TCA_KIND, b"etf\0"));
        let m = message(RTM_NEWQDISC, 2, 9, &body);
        parse_dump(&m, 9, &mut out).unwrap();
        assert_eq!(out[0].etf.map(|e| e.clockid), Some(0));
        let mut body = tcmsg(4, 0, TC_H_ROOT);
        body.extend(attr(TCA_KIND, b"etf\0"));
        parse_dump(&message(RTM_NEWQDISC, 2, 9, &body), 9, &mut out).unwrap();
        assert_eq!(out[1].kind, "etf");
        assert_eq!(out[1].etf, None);
    }

    #[test]
    fn truncated_and_lying_replies_are_errors_never_panics() {
        let mut d = qdisc_message(1, 2, 0x0001_0000, TC_H_ROOT, "etf", Some((300_000, 11, 0)));
        d.extend(done(1));
        let mut out = Vec::new();
        assert_eq!(parse_dump(&d, 1, &mut out), Ok(true));
        // Every prefix: an error or an unfinished dump, nothing read past the end.
        for cut in 0..d.len() {
            let mut out = Vec::new();
            match parse_dump(&d[..cut], 1, &mut out) {
                Ok(done) => assert!(!done, "{cut}"),
                Err(DumpError::Malformed(..)) => {}
                Err(e) => panic!("{cut}: {e}"),
            }
        }
        // Every byte replaced by every value of a few: no panic, whatever the result.
        for i in 0..d.len() {
            for v in [0u8, 1, 3, 4, 0x7f, 0x80, 0xff] {
                let mut bad = d.clone();
                bad[i] = v;
                let _ = parse_dump(&bad, 1, &mut Vec::new());
            }
        }
        // An attribute whose length runs past its message.
        let mut body = tcmsg(2, 0, TC_H_ROOT);
        body.extend_from_slice(&200u16.to_ne_bytes());
        body.extend_from_slice(&TCA_KIND.to_ne_bytes());
        body.extend_from_slice(b"etf\0");
        let e = parse_dump(&message(RTM_NEWQDISC, 2, 1, &body), 1, &mut Vec::new());
        assert_eq!(
            e,
            Err(DumpError::Malformed(
                "attribute length outside its message",
                NLMSG_HDRLEN + TCMSG_LEN
            ))
        );
        // ETF parameters cut short.
        let mut body = tcmsg(2, 0, TC_H_ROOT);
        body.extend(attr(TCA_KIND, b"etf\0"));
        body.extend(attr(TCA_OPTIONS, &attr(TCA_ETF_PARMS, &[1, 2, 3, 4, 5, 6])));
        let e = parse_dump(&message(RTM_NEWQDISC, 2, 1, &body), 1, &mut Vec::new());
        assert!(
            matches!(e, Err(DumpError::Malformed("truncated tc_etf_qopt", _))),
            "{e:?}"
        );
        // A message length below the header's, and a tcmsg cut short.
        let mut m = done(1);
        m[..4].copy_from_slice(&8u32.to_ne_bytes());
        assert!(parse_dump(&m, 1, &mut Vec::new()).is_err());
        let m = message(RTM_NEWQDISC, 2, 1, &tcmsg(1, 0, TC_H_ROOT)[..12]);
        assert_eq!(
            parse_dump(&m, 1, &mut Vec::new()),
            Err(DumpError::Malformed("truncated tcmsg", NLMSG_HDRLEN))
        );
    }
}
