//! New talkers and ARP changes: who starts sending after the network was learned, and
//! which IP address moved to which Ethernet address, in arpwatch's terms.
//!
//! [`Talkers`] takes every packet's facts ([`Seen`]: capture time, length, source MAC,
//! source IP, VLAN and the ARP body's sender, built by hand or with
//! [`Seen::from_dissected`]) and keeps two things.
//!
//! **New talkers.** The first `learning_ns` of capture time (from the first packet seen) are
//! the learning period: every source MAC and every source IP seen then is *learned*. After
//! it, a source MAC or source IP never seen before is a *new talker* ([`NewTalker`]): its
//! first time, the address it came with (a new IP's MAC, a new MAC's IP), its VLAN, and from
//! then on its packets and bytes. MACs and IPs are addresses of their own: a new host is two
//! new talkers, its MAC and its IP; a known router forwarding from a new IP is one (the IP).
//! Addresses are not told apart by VLAN (one host on two VLANs is one talker; the VLAN of
//! its first packet is given). The source IP is the IP header's: an ARP sender is watched
//! by the ARP rules below, not as a talker.
//!
//! **ARP, as arpwatch(8) watches it.** Each ARP request or reply is checked, in arpwatch's
//! order (its `process_ether` and `ent_add`):
//!
//! 1. *ethernet broadcast*: the Ethernet source or the ARP sender hardware address is all
//!    ones or all zeros (here also any multicast address: a sender cannot be a group).
//!    Reported, not learned.
//! 2. *ethernet mismatch*: the Ethernet source differs from the ARP sender hardware
//!    address. Reported, not learned (a forged body must not teach the table).
//! 3. The binding of the sender IP, per IP and VLAN (two VLANs are two networks), to the
//!    sender MAC; each binding keeps its MACs most recent first, as arpwatch's `elist`:
//!    - no binding yet: *new station* (during the learning period too, flagged so: that is
//!      how the table is learned);
//!    - the current MAC: nothing, unless the binding was idle longer than the new-activity
//!      threshold (arpwatch: six months): *new activity*;
//!    - the MAC used just before the current one: *flip flop* (the two swap);
//!    - an older MAC of this IP: *reused old ethernet address* (it moves to the front);
//!    - a MAC never used by this IP: *changed ethernet address* (old and new MAC).
//!
//! A sender IP of 0.0.0.0 (an RFC 5227 probe) or none (not IPv4), and ARP operations other
//! than request and reply, bind nothing (counted). Every ARP event carries whether it was
//! captured during the learning period.
//!
//! Events come out as they happen: [`Talkers::packet`] returns the events of that packet
//! (a live monitor turns each into an alert), and [`Talkers::finish`] gives the
//! [`TalkerReport`] with the new talkers, the ARP events, the final bindings and the counts.
//! [`Talkers::counts`] (by kind) and [`Talkers::events_total`] are the running tally, cheap
//! enough for metrics.
//!
//! Memory is bounded: at most `max_tracked` addresses (learned and new) and `max_tracked`
//! bindings; a packet whose address or binding would need a new entry in a full table is
//! counted as overflow (and the first such packet per table is a [`TalkerEvent::Overflow`]
//! event), entries are never evicted, so what was learned stays learned. A binding keeps its
//! last [`MAX_HISTORY`] MACs (an older one coming back is *changed*, not *reused*); the
//! report lists the first [`MAX_LISTED`] ARP events (all are counted).
//!
//! Time is the capture timestamp; nothing here reads a clock. A timestamp earlier than the
//! latest one is counted as out of order and does not reopen the learning period (the period
//! ends at the first packet captured `learning_ns` after the first one, once and for all).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};

use serde::{Serialize, Serializer};
use wiretape_wire::arp::Operation;
use wiretape_wire::ethernet::EthernetAddress;
use wiretape_wire::packet::Dissected;

/// ARP events listed in the report, at most (the counts go on).
pub const MAX_LISTED: usize = 10_000;

/// MACs remembered per binding, most recent first.
pub const MAX_HISTORY: usize = 8;

/// Idle time after which the current MAC of a binding is *new activity* again, by default:
/// arpwatch's six months (`NEWACTIVITY_DELTA`, 6 × 30 days).
pub const NEW_ACTIVITY_NS: u64 = 6 * 30 * 24 * 3_600 * 1_000_000_000;

fn ser_mac<S: Serializer>(m: &EthernetAddress, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(m)
}

fn ser_opt_mac<S: Serializer>(m: &Option<EthernetAddress>, s: S) -> Result<S::Ok, S::Error> {
    match m {
        Some(m) => s.collect_str(m),
        None => s.serialize_none(),
    }
}

fn ser_macs<S: Serializer>(m: &[EthernetAddress], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(m.iter().map(ToString::to_string))
}

/// The ARP body's facts about its sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ArpSeen {
    pub operation: Operation,
    /// Sender hardware address (Ethernet hardware, 6 bytes).
    pub sender_mac: Option<EthernetAddress>,
    /// Sender protocol address (IPv4).
    pub sender_ip: Option<Ipv4Addr>,
}

/// One packet's facts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Seen {
    /// Capture time, ns.
    pub t_ns: u64,
    /// Its length (on the wire, or as captured: the caller's choice), for the byte counts.
    pub len: u32,
    pub src_mac: Option<EthernetAddress>,
    /// The IP header's source.
    pub src_ip: Option<IpAddr>,
    /// The outermost VLAN id, if tagged.
    pub vlan: Option<u16>,
    pub arp: Option<ArpSeen>,
}

impl Seen {
    /// The facts of a dissected frame of `len` bytes captured at `t_ns`.
    pub fn from_dissected(t_ns: u64, len: u32, d: &Dissected) -> Seen {
        Seen {
            t_ns,
            len,
            src_mac: d.src_mac,
            src_ip: d.src_ip,
            vlan: d.vlans().first().map(|t| t.id()),
            arp: d.arp.map(|a| ArpSeen {
                operation: a.operation,
                sender_mac: a.sender_mac,
                sender_ip: a.sender_ip,
            }),
        }
    }
}

/// What a new talker is new by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TalkerKind {
    Mac,
    Ip,
}

/// A source address first seen after the learning period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewTalker {
    /// Which of `mac` and `ip` is the new address; the other is what it came with in its
    /// first packet.
    pub what: TalkerKind,
    #[serde(serialize_with = "ser_opt_mac")]
    pub mac: Option<EthernetAddress>,
    pub ip: Option<IpAddr>,
    /// The VLAN of its first packet.
    pub vlan: Option<u16>,
    /// Capture times of its first and latest packets, ns.
    pub first_ns: u64,
    pub last_ns: u64,
    /// Packets and bytes from it, its first included (1 and that packet's length in the
    /// event).
    pub packets: u64,
    pub bytes: u64,
}

/// An ARP verdict, in arpwatch's terms ([`ArpVerdict::message`] gives its words).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ArpVerdict {
    /// The first binding of the IP.
    NewStation {
        #[serde(serialize_with = "ser_mac")]
        mac: EthernetAddress,
    },
    /// The current MAC again after the binding was idle longer than the threshold.
    NewActivity {
        #[serde(serialize_with = "ser_mac")]
        mac: EthernetAddress,
        idle_ns: u64,
    },
    /// To a MAC this IP never used.
    ChangedEthernetAddress {
        #[serde(serialize_with = "ser_mac")]
        old_mac: EthernetAddress,
        #[serde(serialize_with = "ser_mac")]
        new_mac: EthernetAddress,
    },
    /// Back to the MAC used just before.
    FlipFlop {
        #[serde(serialize_with = "ser_mac")]
        old_mac: EthernetAddress,
        #[serde(serialize_with = "ser_mac")]
        new_mac: EthernetAddress,
    },
    /// Back to an older MAC of this IP (not the one just before).
    ReusedOldEthernetAddress {
        #[serde(serialize_with = "ser_mac")]
        old_mac: EthernetAddress,
        #[serde(serialize_with = "ser_mac")]
        new_mac: EthernetAddress,
    },
    /// The Ethernet source is not the ARP sender hardware address.
    EthernetMismatch {
        #[serde(serialize_with = "ser_mac")]
        eth_mac: EthernetAddress,
        #[serde(serialize_with = "ser_mac")]
        arp_mac: EthernetAddress,
    },
    /// The Ethernet source or the ARP sender is all zeros, broadcast or multicast.
    EthernetBroadcast {
        #[serde(serialize_with = "ser_opt_mac")]
        eth_mac: Option<EthernetAddress>,
        #[serde(serialize_with = "ser_opt_mac")]
        arp_mac: Option<EthernetAddress>,
    },
}

impl ArpVerdict {
    /// arpwatch's report message for it.
    pub fn message(&self) -> &'static str {
        match self {
            ArpVerdict::NewStation { .. } => "new station",
            ArpVerdict::NewActivity { .. } => "new activity",
            ArpVerdict::ChangedEthernetAddress { .. } => "changed ethernet address",
            ArpVerdict::FlipFlop { .. } => "flip flop",
            ArpVerdict::ReusedOldEthernetAddress { .. } => "reused old ethernet address",
            ArpVerdict::EthernetMismatch { .. } => "ethernet mismatch",
            ArpVerdict::EthernetBroadcast { .. } => "ethernet broadcast",
        }
    }
}

/// One ARP verdict, when and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct ArpEvent {
    /// Capture time of the ARP packet, ns.
    pub t_ns: u64,
    /// The ARP sender IP (none: the body had no IPv4 sender).
    pub ip: Option<Ipv4Addr>,
    pub vlan: Option<u16>,
    /// Captured during the learning period.
    pub learning: bool,
    #[serde(flatten)]
    pub verdict: ArpVerdict,
}

/// A bounded table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Table {
    /// Source addresses (learned and new talkers).
    Addresses,
    /// ARP bindings.
    Bindings,
}

/// What one packet revealed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum TalkerEvent {
    NewTalker(NewTalker),
    Arp(ArpEvent),
    /// A table became full: from now on its new entries are counted, not kept. Once per
    /// table.
    Overflow {
        t_ns: u64,
        table: Table,
    },
}

/// Running counts of events.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct EventCounts {
    pub new_talkers: u64,
    pub new_station: u64,
    pub new_activity: u64,
    pub changed_ethernet_address: u64,
    pub flip_flop: u64,
    pub reused_old_ethernet_address: u64,
    pub ethernet_mismatch: u64,
    pub ethernet_broadcast: u64,
    pub overflow: u64,
}

impl EventCounts {
    /// Every event.
    pub fn total(&self) -> u64 {
        [
            self.new_talkers,
            self.new_station,
            self.new_activity,
            self.changed_ethernet_address,
            self.flip_flop,
            self.reused_old_ethernet_address,
            self.ethernet_mismatch,
            self.ethernet_broadcast,
            self.overflow,
        ]
        .iter()
        .fold(0u64, |n, &x| n.saturating_add(x))
    }

    fn count(&mut self, e: &TalkerEvent) {
        let c = match e {
            TalkerEvent::NewTalker(_) => &mut self.new_talkers,
            TalkerEvent::Overflow { .. } => &mut self.overflow,
            TalkerEvent::Arp(a) => match a.verdict {
                ArpVerdict::NewStation { .. } => &mut self.new_station,
                ArpVerdict::NewActivity { .. } => &mut self.new_activity,
                ArpVerdict::ChangedEthernetAddress { .. } => &mut self.changed_ethernet_address,
                ArpVerdict::FlipFlop { .. } => &mut self.flip_flop,
                ArpVerdict::ReusedOldEthernetAddress { .. } => {
                    &mut self.reused_old_ethernet_address
                }
                ArpVerdict::EthernetMismatch { .. } => &mut self.ethernet_mismatch,
                ArpVerdict::EthernetBroadcast { .. } => &mut self.ethernet_broadcast,
            },
        };
        *c = c.saturating_add(1);
    }
}

/// An IP's binding at the end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BindingReport {
    pub ip: Ipv4Addr,
    pub vlan: Option<u16>,
    /// The current MAC, and the ones before it (most recent first, at most
    /// [`MAX_HISTORY`] − 1).
    #[serde(serialize_with = "ser_mac")]
    pub mac: EthernetAddress,
    #[serde(serialize_with = "ser_macs")]
    pub previous: Vec<EthernetAddress>,
    /// First bound during the learning period.
    pub learned: bool,
    pub first_ns: u64,
    pub last_ns: u64,
    /// Times it moved to another MAC (changed, flip flop, reused).
    pub changes: u64,
}

/// Packets that needed a new entry in a full table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Overflow {
    pub addresses: u64,
    pub bindings: u64,
}

/// Everything, at the end.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TalkerReport {
    pub learning_ns: u64,
    /// Capture time of the first packet, ns (none: no packet).
    pub first_ns: Option<u64>,
    /// Source addresses seen during the learning period.
    pub learned_macs: u64,
    pub learned_ips: u64,
    /// In the order they appeared.
    pub new_talkers: Vec<NewTalker>,
    /// In the order they happened (the first [`MAX_LISTED`]).
    pub arp_events: Vec<ArpEvent>,
    /// Sorted by IP and VLAN.
    pub bindings: Vec<BindingReport>,
    pub counts: EventCounts,
    pub packets: u64,
    pub arp_packets: u64,
    /// ARP packets that bound nothing: sender IP 0.0.0.0 or not IPv4, no sender MAC, or
    /// an operation other than request and reply (broadcast and mismatch not included).
    pub arp_unbound: u64,
    /// Packets whose timestamp went back.
    pub out_of_order: u64,
    pub overflow: Overflow,
}

/// Addresses of each kind remembered from their last lookup.
const RECENT: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Address {
    Mac(EthernetAddress),
    Ip(IpAddr),
}

#[derive(Debug)]
struct Binding {
    /// Most recent first, never empty.
    macs: Vec<EthernetAddress>,
    learned: bool,
    first_ns: u64,
    last_ns: u64,
    changes: u64,
}

/// See the [module documentation](self).
#[derive(Debug)]
pub struct Talkers {
    learning_ns: u64,
    max_tracked: usize,
    new_activity_ns: u64,
    first_ns: Option<u64>,
    /// The latest capture time seen.
    now: u64,
    /// Every source address seen: learned (`None`) or the index of its new talker.
    known: HashMap<Address, Option<usize>, foldhash::fast::RandomState>,
    /// MACs (the first [`RECENT`]) and IP addresses (the others) found in `known` lately,
    /// with their entries, by a fold of their bytes.
    recent: [Option<(Address, Option<usize>)>; 2 * RECENT],
    learned_macs: u64,
    learned_ips: u64,
    new: Vec<NewTalker>,
    bindings: HashMap<(Ipv4Addr, Option<u16>), Binding, foldhash::fast::RandomState>,
    /// The last packet's events.
    events: Vec<TalkerEvent>,
    listed: Vec<ArpEvent>,
    counts: EventCounts,
    packets: u64,
    arp_packets: u64,
    arp_unbound: u64,
    out_of_order: u64,
    overflow: Overflow,
}

fn is_broadcastish(m: EthernetAddress) -> bool {
    m.is_multicast() || m.0 == [0; 6]
}

impl Talkers {
    /// Learns for `learning_ns` from the first packet; tracks at most `max_tracked` (at
    /// least 1) addresses and as many bindings.
    pub fn new(learning_ns: u64, max_tracked: usize) -> Talkers {
        Talkers {
            learning_ns,
            max_tracked: max_tracked.max(1),
            new_activity_ns: NEW_ACTIVITY_NS,
            first_ns: None,
            now: 0,
            known: HashMap::default(),
            recent: [None; 2 * RECENT],
            learned_macs: 0,
            learned_ips: 0,
            new: Vec::new(),
            bindings: HashMap::default(),
            events: Vec::new(),
            listed: Vec::new(),
            counts: EventCounts::default(),
            packets: 0,
            arp_packets: 0,
            arp_unbound: 0,
            out_of_order: 0,
            overflow: Overflow::default(),
        }
    }

    /// With *new activity* after `idle_ns` of a binding's silence instead of
    /// [`NEW_ACTIVITY_NS`] (`u64::MAX`: never).
    pub fn with_new_activity_ns(mut self, idle_ns: u64) -> Talkers {
        self.new_activity_ns = idle_ns;
        self
    }

    /// Whether the learning period is still on (before any packet: yes).
    pub fn learning(&self) -> bool {
        match self.first_ns {
            None => true,
            Some(first) => self.now < first.saturating_add(self.learning_ns),
        }
    }

    /// The events so far, by kind.
    pub fn counts(&self) -> &EventCounts {
        &self.counts
    }

    /// The events so far.
    pub fn events_total(&self) -> u64 {
        self.counts.total()
    }

    /// One packet; returns the events it produced (see the [module documentation](self)).
    pub fn packet(&mut self, s: &Seen) -> &[TalkerEvent] {
        self.events.clear();
        self.packets = self.packets.saturating_add(1);
        match self.first_ns {
            None => {
                self.first_ns = Some(s.t_ns);
                self.now = s.t_ns;
            }
            Some(_) if s.t_ns < self.now => {
                self.out_of_order = self.out_of_order.saturating_add(1);
            }
            Some(_) => self.now = s.t_ns,
        }
        let learning = self.learning();
        if let Some(m) = s.src_mac {
            self.address(Address::Mac(m), s, learning);
        }
        if let Some(ip) = s.src_ip {
            self.address(Address::Ip(ip), s, learning);
        }
        if let Some(a) = s.arp {
            self.arp(&a, s, learning);
        }
        for e in &self.events {
            self.counts.count(e);
            if let TalkerEvent::Arp(a) = e {
                if self.listed.len() < MAX_LISTED {
                    self.listed.push(*a);
                }
            }
        }
        &self.events
    }

    fn overflowed(&mut self, table: Table, t_ns: u64) {
        let n = match table {
            Table::Addresses => &mut self.overflow.addresses,
            Table::Bindings => &mut self.overflow.bindings,
        };
        if *n == 0 {
            self.events.push(TalkerEvent::Overflow { t_ns, table });
        }
        *n = n.saturating_add(1);
    }

    fn address(&mut self, a: Address, s: &Seen, learning: bool) {
        // An entry of `known` never changes once made: the last ones looked up are
        // remembered in a small table by a fold of the address's bytes (a link's packets
        // come from a few sources, interleaved).
        let fold = |b: &[u8]| b.iter().fold(0u8, |x, &y| x.rotate_left(3) ^ y);
        let slot = match a {
            Address::Mac(m) => usize::from(fold(&m.0)) % RECENT,
            Address::Ip(IpAddr::V4(ip)) => RECENT + usize::from(fold(&ip.octets())) % RECENT,
            Address::Ip(IpAddr::V6(ip)) => RECENT + usize::from(fold(&ip.octets())) % RECENT,
        };
        let known = match self.recent[slot] {
            Some((k, v)) if k == a => Some(v),
            _ => {
                let v = self.known.get(&a).copied();
                if let Some(v) = v {
                    self.recent[slot] = Some((a, v));
                }
                v
            }
        };
        match known {
            Some(None) => {}
            Some(Some(i)) => {
                if let Some(t) = self.new.get_mut(i) {
                    t.packets = t.packets.saturating_add(1);
                    t.bytes = t.bytes.saturating_add(u64::from(s.len));
                    t.last_ns = t.last_ns.max(s.t_ns);
                }
            }
            None if self.known.len() >= self.max_tracked => {
                self.overflowed(Table::Addresses, s.t_ns)
            }
            None if learning => {
                self.known.insert(a, None);
                match a {
                    Address::Mac(_) => self.learned_macs += 1,
                    Address::Ip(_) => self.learned_ips += 1,
                }
            }
            None => {
                let what = match a {
                    Address::Mac(_) => TalkerKind::Mac,
                    Address::Ip(_) => TalkerKind::Ip,
                };
                let t = NewTalker {
                    what,
                    mac: s.src_mac,
                    ip: s.src_ip,
                    vlan: s.vlan,
                    first_ns: s.t_ns,
                    last_ns: s.t_ns,
                    packets: 1,
                    bytes: u64::from(s.len),
                };
                self.known.insert(a, Some(self.new.len()));
                self.new.push(t.clone());
                self.events.push(TalkerEvent::NewTalker(t));
            }
        }
    }

    fn arp(&mut self, a: &ArpSeen, s: &Seen, learning: bool) {
        self.arp_packets = self.arp_packets.saturating_add(1);
        let event = |verdict| {
            TalkerEvent::Arp(ArpEvent {
                t_ns: s.t_ns,
                ip: a.sender_ip,
                vlan: s.vlan,
                learning,
                verdict,
            })
        };
        if !matches!(a.operation, Operation::Request | Operation::Reply) {
            self.arp_unbound = self.arp_unbound.saturating_add(1);
            return;
        }
        let (eth, sha) = (s.src_mac, a.sender_mac);
        if eth.is_some_and(is_broadcastish) || sha.is_some_and(is_broadcastish) {
            self.events.push(event(ArpVerdict::EthernetBroadcast {
                eth_mac: eth,
                arp_mac: sha,
            }));
            return;
        }
        if let (Some(e), Some(h)) = (eth, sha) {
            if e != h {
                self.events.push(event(ArpVerdict::EthernetMismatch {
                    eth_mac: e,
                    arp_mac: h,
                }));
                return;
            }
        }
        let (Some(mac), Some(ip)) = (sha.or(eth), a.sender_ip.filter(|ip| !ip.is_unspecified()))
        else {
            self.arp_unbound = self.arp_unbound.saturating_add(1);
            return;
        };
        let key = (ip, s.vlan);
        let Some(b) = self.bindings.get_mut(&key) else {
            if self.bindings.len() >= self.max_tracked {
                return self.overflowed(Table::Bindings, s.t_ns);
            }
            self.bindings.insert(
                key,
                Binding {
                    macs: vec![mac],
                    learned: learning,
                    first_ns: s.t_ns,
                    last_ns: s.t_ns,
                    changes: 0,
                },
            );
            self.events.push(event(ArpVerdict::NewStation { mac }));
            return;
        };
        let old_mac = b.macs[0];
        let verdict = match b.macs.iter().position(|&m| m == mac) {
            Some(0) => {
                let idle_ns = s.t_ns.saturating_sub(b.last_ns);
                (idle_ns > self.new_activity_ns).then_some(ArpVerdict::NewActivity { mac, idle_ns })
            }
            Some(1) => {
                b.macs.swap(0, 1);
                Some(ArpVerdict::FlipFlop {
                    old_mac,
                    new_mac: mac,
                })
            }
            Some(i) => {
                b.macs[..=i].rotate_right(1);
                Some(ArpVerdict::ReusedOldEthernetAddress {
                    old_mac,
                    new_mac: mac,
                })
            }
            None => {
                b.macs.insert(0, mac);
                b.macs.truncate(MAX_HISTORY);
                Some(ArpVerdict::ChangedEthernetAddress {
                    old_mac,
                    new_mac: mac,
                })
            }
        };
        if old_mac != mac {
            b.changes = b.changes.saturating_add(1);
        }
        b.last_ns = b.last_ns.max(s.t_ns);
        if let Some(v) = verdict {
            self.events.push(event(v));
        }
    }

    /// The report (see the [module documentation](self)).
    pub fn finish(self) -> TalkerReport {
        let mut bindings: Vec<BindingReport> = self
            .bindings
            .into_iter()
            .map(|((ip, vlan), b)| BindingReport {
                ip,
                vlan,
                mac: b.macs[0],
                previous: b.macs[1..].to_vec(),
                learned: b.learned,
                first_ns: b.first_ns,
                last_ns: b.last_ns,
                changes: b.changes,
            })
            .collect();
        bindings.sort_by_key(|b| (b.ip, b.vlan));
        TalkerReport {
            learning_ns: self.learning_ns,
            first_ns: self.first_ns,
            learned_macs: self.learned_macs,
            learned_ips: self.learned_ips,
            new_talkers: self.new,
            arp_events: self.listed,
            bindings,
            counts: self.counts,
            packets: self.packets,
            arp_packets: self.arp_packets,
            arp_unbound: self.arp_unbound,
            out_of_order: self.out_of_order,
            overflow: self.overflow,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use proptest::prelude::*;
    use wiretape_wire::packet::link_type;

    use super::*;

    fn m(n: u8) -> EthernetAddress {
        EthernetAddress([0x02, 0, 0, 0, 0, n])
    }

    fn v4(n: u8) -> Ipv4Addr {
        Ipv4Addr::new(10, 0, 0, n)
    }

    /// An ARP packet whose Ethernet source and ARP sender agree.
    fn arp(t_ns: u64, ip: Ipv4Addr, mac: EthernetAddress) -> Seen {
        Seen {
            t_ns,
            len: 60,
            src_mac: Some(mac),
            src_ip: None,
            vlan: None,
            arp: Some(ArpSeen {
                operation: Operation::Reply,
                sender_mac: Some(mac),
                sender_ip: Some(ip),
            }),
        }
    }

    fn ip(t_ns: u64, mac: EthernetAddress, ip: u8) -> Seen {
        Seen {
            t_ns,
            len: 100,
            src_mac: Some(mac),
            src_ip: Some(IpAddr::V4(v4(ip))),
            vlan: Some(7),
            arp: None,
        }
    }

    fn verdicts(t: &mut Talkers, s: Seen) -> Vec<ArpVerdict> {
        t.packet(&s)
            .iter()
            .filter_map(|e| match e {
                TalkerEvent::Arp(a) => Some(a.verdict),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn bindings_change_in_arpwatch_terms() {
        let mut t = Talkers::new(1_000, 100);
        let ev = t.packet(&arp(0, v4(1), m(0xa))).to_vec();
        assert_eq!(
            ev,
            vec![TalkerEvent::Arp(ArpEvent {
                t_ns: 0,
                ip: Some(v4(1)),
                vlan: None,
                learning: true,
                verdict: ArpVerdict::NewStation { mac: m(0xa) },
            })]
        );
        // The MAC it has: nothing.
        assert_eq!(verdicts(&mut t, arp(500, v4(1), m(0xa))), vec![]);
        // A → B: changed (B never used by .1).
        let ch = |o, n| ArpVerdict::ChangedEthernetAddress {
            old_mac: m(o),
            new_mac: m(n),
        };
        let ff = |o, n| ArpVerdict::FlipFlop {
            old_mac: m(o),
            new_mac: m(n),
        };
        let reused = |o, n| ArpVerdict::ReusedOldEthernetAddress {
            old_mac: m(o),
            new_mac: m(n),
        };
        assert_eq!(
            verdicts(&mut t, arp(2_000, v4(1), m(0xb))),
            vec![ch(0xa, 0xb)]
        );
        // B → A: back to the one just before.
        assert_eq!(
            verdicts(&mut t, arp(3_000, v4(1), m(0xa))),
            vec![ff(0xb, 0xa)]
        );
        // A → C: new again. History C, A, B.
        assert_eq!(
            verdicts(&mut t, arp(4_000, v4(1), m(0xc))),
            vec![ch(0xa, 0xc)]
        );
        // C → B: B is the third most recent: reused. History B, C, A.
        assert_eq!(
            verdicts(&mut t, arp(5_000, v4(1), m(0xb))),
            vec![reused(0xc, 0xb)]
        );
        assert_eq!(
            verdicts(&mut t, arp(6_000, v4(1), m(0xc))),
            vec![ff(0xb, 0xc)]
        );
        assert_eq!(verdicts(&mut t, arp(6_500, v4(1), m(0xc))), vec![]);
        // The same IP on another VLAN is another network: a new station, after learning.
        let mut other = arp(7_000, v4(1), m(0xd));
        other.vlan = Some(20);
        let ev: Vec<ArpEvent> = t
            .packet(&other)
            .iter()
            .filter_map(|e| match e {
                TalkerEvent::Arp(a) => Some(*a),
                _ => None,
            })
            .collect();
        assert_eq!(
            ev,
            vec![ArpEvent {
                t_ns: 7_000,
                ip: Some(v4(1)),
                vlan: Some(20),
                learning: false,
                verdict: ArpVerdict::NewStation { mac: m(0xd) }
            }]
        );
        // Ethernet source and ARP sender differ: mismatch, and the binding is untouched.
        let mut forged = arp(8_000, v4(1), m(0xe));
        forged.src_mac = Some(m(0xf));
        assert_eq!(
            verdicts(&mut t, forged),
            vec![ArpVerdict::EthernetMismatch {
                eth_mac: m(0xf),
                arp_mac: m(0xe)
            }]
        );
        // Broadcast, all-zero or multicast senders: ethernet broadcast, not learned.
        for (eth, sha) in [
            (EthernetAddress::BROADCAST, m(0xc)),
            (m(0xc), EthernetAddress::BROADCAST),
            (m(0xc), EthernetAddress([0; 6])),
            (EthernetAddress([0x01, 0, 0x5e, 0, 0, 1]), m(0xc)),
        ] {
            let mut s = arp(9_000, v4(1), sha);
            s.src_mac = Some(eth);
            assert_eq!(
                verdicts(&mut t, s),
                vec![ArpVerdict::EthernetBroadcast {
                    eth_mac: Some(eth),
                    arp_mac: Some(sha)
                }]
            );
        }
        // A probe (sender 0.0.0.0) and a RARP request bind nothing.
        assert_eq!(
            verdicts(&mut t, arp(9_500, Ipv4Addr::UNSPECIFIED, m(0x9))),
            vec![]
        );
        let mut rarp = arp(9_600, v4(9), m(0x9));
        rarp.arp = rarp.arp.map(|a| ArpSeen {
            operation: Operation::RarpRequest,
            ..a
        });
        assert_eq!(verdicts(&mut t, rarp), vec![]);
        // Still C for .1 on no VLAN.
        assert_eq!(verdicts(&mut t, arp(10_000, v4(1), m(0xc))), vec![]);

        let c = *t.counts();
        assert_eq!(
            (
                c.new_station,
                c.changed_ethernet_address,
                c.flip_flop,
                c.reused_old_ethernet_address,
                c.ethernet_mismatch,
                c.ethernet_broadcast
            ),
            (2, 2, 2, 1, 1, 4)
        );
        let r = t.finish();
        assert_eq!(
            r.arp_events.len() as u64,
            r.counts.total() - r.counts.new_talkers
        );
        assert_eq!(r.arp_unbound, 2);
        assert_eq!(r.bindings.len(), 2);
        let b = &r.bindings[0];
        assert_eq!((b.ip, b.vlan, b.mac), (v4(1), None, m(0xc)));
        assert_eq!(b.previous, vec![m(0xb), m(0xa)]);
        assert_eq!(
            (b.learned, b.changes, b.first_ns, b.last_ns),
            (true, 5, 0, 10_000)
        );
        assert!(!r.bindings[1].learned);
    }

    #[test]
    fn a_binding_quiet_longer_than_the_threshold_is_new_activity() {
        let mut t = Talkers::new(0, 10).with_new_activity_ns(10_000);
        t.packet(&arp(0, v4(1), m(1)));
        assert_eq!(verdicts(&mut t, arp(10_000, v4(1), m(1))), vec![]);
        assert_eq!(
            verdicts(&mut t, arp(20_001, v4(1), m(1))),
            vec![ArpVerdict::NewActivity {
                mac: m(1),
                idle_ns: 10_001
            }]
        );
        assert_eq!(
            ArpVerdict::NewActivity {
                mac: m(1),
                idle_ns: 1
            }
            .message(),
            "new activity"
        );
    }

    #[test]
    fn an_older_mac_beyond_the_history_comes_back_as_changed() {
        let mut t = Talkers::new(0, 10);
        for n in 0..=MAX_HISTORY as u8 {
            t.packet(&arp(u64::from(n), v4(1), m(n)));
        }
        // m(0) was pushed out of the history by the ninth MAC.
        assert_eq!(
            verdicts(&mut t, arp(100, v4(1), m(0))),
            vec![ArpVerdict::ChangedEthernetAddress {
                old_mac: m(MAX_HISTORY as u8),
                new_mac: m(0)
            }]
        );
        let r = t.finish();
        assert_eq!(r.bindings[0].previous.len(), MAX_HISTORY - 1);
    }

    #[test]
    fn sources_first_seen_after_learning_are_new_talkers() {
        let mut t = Talkers::new(1_000, 100);
        assert!(t.learning());
        assert!(t.packet(&ip(100, m(1), 1)).is_empty());
        assert!(t.packet(&ip(999, m(2), 2)).is_empty());
        assert!(t.learning());
        // After learning: known pairs are quiet, even crossed (a known MAC with a known IP).
        assert!(t.packet(&ip(1_100, m(2), 1)).is_empty());
        assert!(!t.learning());
        // A new IP behind a known MAC (a router forwarding for it).
        let ev = t.packet(&ip(1_200, m(1), 3)).to_vec();
        assert_eq!(
            ev,
            vec![TalkerEvent::NewTalker(NewTalker {
                what: TalkerKind::Ip,
                mac: Some(m(1)),
                ip: Some(IpAddr::V4(v4(3))),
                vlan: Some(7),
                first_ns: 1_200,
                last_ns: 1_200,
                packets: 1,
                bytes: 100,
            })]
        );
        // A new host: its MAC and its IP.
        let ev = t.packet(&ip(1_300, m(4), 4)).to_vec();
        let what: Vec<TalkerKind> = ev
            .iter()
            .map(|e| match e {
                TalkerEvent::NewTalker(n) => n.what,
                _ => panic!("{e:?}"),
            })
            .collect();
        assert_eq!(what, vec![TalkerKind::Mac, TalkerKind::Ip]);
        // Then it is counted, not announced again.
        assert!(t.packet(&ip(1_400, m(4), 4)).is_empty());
        assert!(t.packet(&ip(1_500, m(1), 3)).is_empty());
        assert_eq!((t.counts().total(), t.events_total()), (3, 3));
        let r = t.finish();
        assert_eq!((r.learned_macs, r.learned_ips), (2, 2));
        assert_eq!(r.new_talkers.len(), 3);
        let n = &r.new_talkers[0];
        assert_eq!(
            (n.packets, n.bytes, n.first_ns, n.last_ns),
            (2, 200, 1_200, 1_500)
        );
        let mac4 = &r.new_talkers[1];
        assert_eq!((mac4.what, mac4.packets), (TalkerKind::Mac, 2));
        assert_eq!(r.packets, 7);
    }

    #[test]
    fn time_going_back_does_not_reopen_learning() {
        let mut t = Talkers::new(1_000, 100);
        t.packet(&ip(5_000, m(1), 1));
        t.packet(&ip(6_000, m(1), 1));
        assert!(!t.learning());
        // Captured "before" the end of learning, after it ended: still new.
        assert_eq!(t.packet(&ip(5_500, m(2), 1)).len(), 1);
        let r = t.finish();
        assert_eq!(r.out_of_order, 1);
        assert_eq!(r.first_ns, Some(5_000));
    }

    #[test]
    fn full_tables_count_overflow_and_say_so_once() {
        let mut t = Talkers::new(0, 2);
        let mut overflow_events = 0;
        for n in 0..10u8 {
            let mut s = arp(u64::from(n), v4(n), m(n));
            s.src_ip = Some(IpAddr::V4(v4(n)));
            overflow_events += t
                .packet(&s)
                .iter()
                .filter(|e| matches!(e, TalkerEvent::Overflow { .. }))
                .count();
        }
        assert_eq!(overflow_events, 2, "one per table");
        let r = t.finish();
        assert_eq!(r.new_talkers.len(), 2, "m(0) and 10.0.0.0 fill the table");
        assert_eq!(r.bindings.len(), 2);
        assert_eq!(
            r.overflow,
            Overflow {
                addresses: 18,
                bindings: 8
            }
        );
        assert_eq!(r.counts.overflow, 2);
    }

    #[test]
    fn events_and_reports_serialize_with_readable_addresses() {
        let mut t = Talkers::new(0, 10);
        t.packet(&arp(1, v4(1), m(1)));
        t.packet(&arp(2, v4(1), m(2)));
        let ev = t.packet(&arp(3, v4(1), m(1))).to_vec();
        let json = serde_json::to_value(&ev[0]).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "event": "arp",
                "t_ns": 3,
                "ip": "10.0.0.1",
                "vlan": null,
                "learning": false,
                "kind": "flip_flop",
                "old_mac": "02:00:00:00:00:02",
                "new_mac": "02:00:00:00:00:01",
            })
        );
        let r = serde_json::to_value(t.finish()).unwrap();
        assert_eq!(r["new_talkers"][0]["what"], "mac");
        assert_eq!(r["bindings"][0]["previous"][0], "02:00:00:00:00:02");
        assert_eq!(r["counts"]["flip_flop"], 1);
    }

    /// Ethernet II, an optional 802.1Q tag, then `ethertype` and `body`, padded to 60 bytes.
    fn frame(
        dst: [u8; 6],
        src: [u8; 6],
        vlan: Option<u16>,
        ethertype: u16,
        body: &[u8],
    ) -> Vec<u8> {
        let mut f = Vec::new();
        f.extend_from_slice(&dst);
        f.extend_from_slice(&src);
        if let Some(v) = vlan {
            f.extend_from_slice(&[0x81, 0x00]);
            f.extend_from_slice(&v.to_be_bytes());
        }
        f.extend_from_slice(&ethertype.to_be_bytes());
        f.extend_from_slice(body);
        f.resize(f.len().max(60), 0);
        f
    }

    /// An ARP body: Ethernet/IPv4, `op`, sender and target.
    fn arp_body(op: u16, sha: [u8; 6], spa: [u8; 4], tha: [u8; 6], tpa: [u8; 4]) -> Vec<u8> {
        let mut b = vec![0, 1, 0x08, 0x00, 6, 4];
        b.extend_from_slice(&op.to_be_bytes());
        b.extend_from_slice(&sha);
        b.extend_from_slice(&spa);
        b.extend_from_slice(&tha);
        b.extend_from_slice(&tpa);
        b
    }

    /// A minimal IPv4 header (no options) with UDP and no payload.
    fn ipv4_udp(src: [u8; 4], dst: [u8; 4]) -> Vec<u8> {
        let mut b = vec![0x45, 0, 0, 28, 0, 0, 0x40, 0, 64, 17, 0, 0];
        b.extend_from_slice(&src);
        b.extend_from_slice(&dst);
        b.extend_from_slice(&[0x30, 0x39, 0x30, 0x39, 0, 8, 0, 0]);
        b
    }

    /// The verdicts over real frames, parsed by `Dissected::parse`: ARP request and reply,
    /// a gratuitous ARP moving the gateway's IP, a forged body, a VLAN, and IPv4 talkers.
    #[test]
    fn verdicts_over_real_frames() {
        let gw = [0x00, 0x1b, 0x21, 0x0a, 0x0b, 0x0c];
        let host = [0x00, 0x1b, 0x21, 0x01, 0x02, 0x03];
        let evil = [0x00, 0x1b, 0x21, 0x66, 0x66, 0x66];
        let bcast = [0xff; 6];
        let (gw_ip, host_ip) = ([192, 168, 1, 1], [192, 168, 1, 10]);
        let frames: Vec<(u64, Vec<u8>)> = vec![
            // Learning (the first 1 ms): host asks for the gateway, the gateway answers.
            (
                0,
                frame(
                    bcast,
                    host,
                    None,
                    0x0806,
                    &arp_body(1, host, host_ip, [0; 6], gw_ip),
                ),
            ),
            (
                10,
                frame(
                    host,
                    gw,
                    None,
                    0x0806,
                    &arp_body(2, gw, gw_ip, host, host_ip),
                ),
            ),
            (
                20,
                frame(gw, host, None, 0x0800, &ipv4_udp(host_ip, [8, 8, 8, 8])),
            ),
            // After: a gratuitous ARP gives the gateway's IP to another MAC.
            (
                2_000_000,
                frame(
                    bcast,
                    evil,
                    None,
                    0x0806,
                    &arp_body(2, evil, gw_ip, bcast, gw_ip),
                ),
            ),
            // The gateway answers again: back to the MAC used just before.
            (
                2_000_100,
                frame(
                    host,
                    gw,
                    None,
                    0x0806,
                    &arp_body(2, gw, gw_ip, host, host_ip),
                ),
            ),
            // A forged body: the frame from the host claims the gateway's MAC.
            (
                2_000_200,
                frame(
                    bcast,
                    host,
                    None,
                    0x0806,
                    &arp_body(2, gw, gw_ip, bcast, gw_ip),
                ),
            ),
            // A body claiming the broadcast address as the sender's.
            (
                2_000_250,
                frame(
                    bcast,
                    host,
                    None,
                    0x0806,
                    &arp_body(2, bcast, host_ip, bcast, host_ip),
                ),
            ),
            // The host on VLAN 5: a station of another network.
            (
                2_000_300,
                frame(
                    bcast,
                    host,
                    Some(5),
                    0x0806,
                    &arp_body(1, host, host_ip, [0; 6], gw_ip),
                ),
            ),
            // A new IP talker behind a known MAC.
            (
                2_000_400,
                frame(
                    gw,
                    host,
                    None,
                    0x0800,
                    &ipv4_udp([192, 168, 1, 11], [8, 8, 8, 8]),
                ),
            ),
        ];
        let mut t = Talkers::new(1_000_000, 1_000);
        let mut got = Vec::new();
        for (ts, f) in &frames {
            let d = Dissected::parse(link_type::ETHERNET, f);
            assert_eq!(d.stop, None);
            let seen = Seen::from_dissected(*ts, f.len() as u32, &d);
            for e in t.packet(&seen) {
                got.push(match e {
                    TalkerEvent::Arp(a) => format!(
                        "{} {} {:?} {}",
                        a.verdict.message(),
                        a.ip.map(|i| i.to_string()).unwrap_or_default(),
                        a.vlan,
                        a.learning
                    ),
                    TalkerEvent::NewTalker(n) => format!("new talker {:?} {:?}", n.what, n.ip),
                    TalkerEvent::Overflow { .. } => "overflow".into(),
                });
            }
        }
        assert_eq!(
            got,
            vec![
                "new station 192.168.1.10 None true",
                "new station 192.168.1.1 None true",
                "new talker Mac None",
                "changed ethernet address 192.168.1.1 None false",
                "flip flop 192.168.1.1 None false",
                "ethernet mismatch 192.168.1.1 None false",
                "ethernet broadcast 192.168.1.10 None false",
                "new station 192.168.1.10 Some(5) false",
                "new talker Ip Some(192.168.1.11)",
            ]
        );
        let r = t.finish();
        let gw_binding = r.bindings.iter().find(|b| b.ip.octets() == gw_ip).unwrap();
        assert_eq!(gw_binding.mac, EthernetAddress(gw));
        assert_eq!(gw_binding.previous, vec![EthernetAddress(evil)]);
        assert_eq!((r.learned_macs, r.learned_ips), (2, 1));
    }

    /// arpwatch's `ent_add`, written out plainly: per IP, its MACs most recent first.
    fn model(events: &[(u8, u8)]) -> Vec<&'static str> {
        let mut table: std::collections::HashMap<u8, Vec<u8>> = Default::default();
        let mut out = Vec::new();
        for &(ip, mac) in events {
            let list = table.entry(ip).or_default();
            let pos = list.iter().position(|&x| x == mac);
            let verdict = match (list.is_empty(), pos) {
                (true, _) => Some("new station"),
                (_, Some(0)) => None,
                (_, Some(1)) => Some("flip flop"),
                (_, Some(_)) => Some("reused old ethernet address"),
                (_, None) => Some("changed ethernet address"),
            };
            if let Some(p) = pos {
                list.remove(p);
            }
            list.insert(0, mac);
            out.extend(verdict);
        }
        out
    }

    proptest! {
        /// The verdicts are arpwatch's: the same as a plain model of its table (up to
        /// [`MAX_HISTORY`] MACs per IP, so the history bound does not matter).
        #[test]
        fn verdicts_follow_arpwatchs_table(
            events in proptest::collection::vec((0u8..3, 0u8..MAX_HISTORY as u8), 0..200),
        ) {
            let mut t = Talkers::new(0, 100).with_new_activity_ns(u64::MAX);
            let mut got = Vec::new();
            for (i, &(ipn, mac)) in events.iter().enumerate() {
                got.extend(verdicts(&mut t, arp(i as u64, v4(ipn), m(mac))).iter().map(|v| v.message()));
            }
            prop_assert_eq!(got, model(&events));
        }

        /// The learned set does not depend on the order of the learning period's packets,
        /// and neither do the new talkers after it.
        #[test]
        fn any_order_of_the_learning_packets_learns_the_same(
            learn in proptest::collection::vec((0u8..20, 0u8..20), 1..60),
            later in proptest::collection::vec((0u8..30, 0u8..30), 0..60),
            seed in any::<u64>(),
        ) {
            let run = |order: &[(u8, u8)]| {
                let mut t = Talkers::new(1_000_000, 1_000);
                for (i, &(mac, ipn)) in order.iter().enumerate() {
                    t.packet(&ip(i as u64, m(mac), ipn));
                }
                let learned: BTreeSet<Address> = t.known.keys().copied().collect();
                let mut events = Vec::new();
                for (i, &(mac, ipn)) in later.iter().enumerate() {
                    events.extend(t.packet(&ip(2_000_000 + i as u64, m(mac), ipn)).to_vec());
                }
                (learned, events, t.finish())
            };
            // A shuffle from the seed (a small LCG: the order is all that matters).
            let mut shuffled = learn.clone();
            let mut x = seed;
            for i in (1..shuffled.len()).rev() {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                shuffled.swap(i, (x >> 33) as usize % (i + 1));
            }
            let (la, ea, ra) = run(&learn);
            let (lb, eb, rb) = run(&shuffled);
            prop_assert_eq!(&la, &lb);
            prop_assert_eq!(ea, eb);
            prop_assert_eq!((ra.learned_macs, ra.learned_ips), (rb.learned_macs, rb.learned_ips));
            prop_assert_eq!(ra.new_talkers, rb.new_talkers);
        }

        /// Hostile input: any field values, any order of times; no panic, tables within
        /// their bound, counts adding up to the events returned.
        #[test]
        fn any_input_is_taken_within_bounds(
            packets in proptest::collection::vec(
                (any::<u64>(), any::<u32>(), any::<Option<[u8; 6]>>(), any::<Option<u32>>(),
                 any::<Option<u16>>(), any::<Option<(u16, Option<[u8; 6]>, Option<u32>)>>()),
                0..200),
            learning_ns in any::<u64>(),
            max in 0usize..8,
            idle in any::<u64>(),
        ) {
            let mut t = Talkers::new(learning_ns, max).with_new_activity_ns(idle);
            let mut returned = 0u64;
            for (ts, len, mac, ipn, vlan, a) in packets {
                let s = Seen {
                    t_ns: ts,
                    len,
                    src_mac: mac.map(EthernetAddress),
                    src_ip: ipn.map(|x| IpAddr::V4(Ipv4Addr::from(x))),
                    vlan,
                    arp: a.map(|(op, sha, spa)| ArpSeen {
                        operation: Operation::from(op % 4),
                        sender_mac: sha.map(EthernetAddress),
                        sender_ip: spa.map(Ipv4Addr::from),
                    }),
                };
                returned += t.packet(&s).len() as u64;
                prop_assert!(t.known.len() <= max.max(1));
                prop_assert!(t.bindings.len() <= max.max(1));
            }
            prop_assert_eq!(t.counts().total(), returned);
            let r = t.finish();
            prop_assert!(r.bindings.iter().all(|b| b.previous.len() < MAX_HISTORY));
            let _ = serde_json::to_string(&r).unwrap();
        }
    }
}
