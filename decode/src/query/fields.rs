//! What a query is evaluated on: a message's fields ([`MsgFields`]) and a packet's network
//! fields ([`NetFields`]).

use std::net::IpAddr;

use wiretape_wire::ip::IpProtocol;
use wiretape_wire::packet::Dissected;

use crate::record::{Message, OrderIds, Protocol, Session};

/// What message-level terms look at. Borrowed from a [`Message`] or an index entry.
#[derive(Debug, Clone, Copy)]
pub struct MsgFields<'a> {
    pub protocol: Protocol,
    /// Wire type code (ITCH `A`, FIX `D`, ...).
    pub code: &'a [u8],
    /// Specification name (`Add Order`, `Order Executed`, `NewOrderSingle`).
    pub name: &'a str,
    pub symbol: Option<&'a str>,
    /// MoldUDP64 session name / PITCH unit, IEX-TP session (decimal) / SoupBinTCP session /
    /// FIX SenderCompID and TargetCompID.
    pub sessions: [Option<&'a str>; 2],
    pub sequence: Option<u64>,
    pub ids: &'a OrderIds,
}

impl<'a> MsgFields<'a> {
    /// The fields of a decoded message. Blank session names (sanitised MoldUDP64 captures
    /// zero them) and names that are not ASCII count as absent.
    pub fn from_message(m: &'a Message) -> MsgFields<'a> {
        let sessions = match &m.session {
            Session::MoldUdp64 { name, .. } | Session::Feed { name, .. } => [name.as_str(), None],
            Session::SoupBin { session, .. } => [session.as_ref().and_then(|s| s.as_str()), None],
            Session::Fix {
                sender_comp_id,
                target_comp_id,
                ..
            } => [sender_comp_id.as_deref(), target_comp_id.as_deref()],
        };
        MsgFields {
            protocol: m.protocol,
            code: m.msg_type.code.as_bytes(),
            name: m.msg_type.name,
            symbol: m.symbol.as_deref(),
            sessions: sessions.map(|s| s.filter(|s| !s.trim().is_empty())),
            sequence: m.sequence,
            ids: &m.ids,
        }
    }
}

/// What network-level terms look at: one packet's capture time and headers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NetFields {
    /// Capture time, ns since the Unix epoch.
    pub ts_ns: u64,
    /// Outermost VLAN id.
    pub vlan: Option<u16>,
    /// IP source address; for ARP, the sender protocol address.
    pub src: Option<IpAddr>,
    /// IP destination address; for ARP, the target protocol address.
    pub dst: Option<IpAddr>,
    /// TCP or UDP source port.
    pub sport: Option<u16>,
    /// TCP or UDP destination port.
    pub dport: Option<u16>,
    /// What kind of packet it is.
    pub l4: L4,
}

impl NetFields {
    /// The fields of a dissected frame captured at `ts_ns`.
    pub fn from_dissected(ts_ns: u64, d: &Dissected) -> NetFields {
        let mut l4 = L4::NONE;
        match d.ip_protocol {
            Some(IpProtocol::Tcp) => l4.insert(L4::TCP),
            Some(IpProtocol::Udp) => l4.insert(L4::UDP),
            Some(IpProtocol::Icmp | IpProtocol::Icmpv6) => l4.insert(L4::ICMP),
            _ => {}
        }
        match d.src_ip {
            Some(IpAddr::V4(_)) => l4.insert(L4::IPV4),
            Some(IpAddr::V6(_)) => l4.insert(L4::IPV6),
            None => {}
        }
        let (src, dst) = match &d.arp {
            Some(arp) => {
                l4.insert(L4::ARP);
                (arp.sender_ip.map(IpAddr::V4), arp.target_ip.map(IpAddr::V4))
            }
            None => (d.src_ip, d.dst_ip),
        };
        NetFields {
            ts_ns,
            vlan: d.vlans().first().map(|t| t.id()),
            src,
            dst,
            sport: d.src_port,
            dport: d.dst_port,
            l4,
        }
    }
}

/// Packet kinds, as a bit set (a packet may be several: IPv4 and TCP).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct L4(pub u8);

impl L4 {
    /// No bit.
    pub const NONE: L4 = L4(0);
    pub const TCP: L4 = L4(1);
    pub const UDP: L4 = L4(2);
    /// ICMPv4 or ICMPv6.
    pub const ICMP: L4 = L4(4);
    pub const ARP: L4 = L4(8);
    pub const IPV4: L4 = L4(16);
    pub const IPV6: L4 = L4(32);

    /// Whether every bit of `other` is set (and `other` has one).
    pub const fn contains(self, other: L4) -> bool {
        other.0 != 0 && self.0 & other.0 == other.0
    }

    /// Sets the bits of `other`.
    pub fn insert(&mut self, other: L4) {
        self.0 |= other.0;
    }
}

impl std::ops::BitOr for L4 {
    type Output = L4;
    fn bitor(self, rhs: L4) -> L4 {
        L4(self.0 | rhs.0)
    }
}
