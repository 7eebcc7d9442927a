//! Zero-copy views over packet and trading-protocol bytes.
//!
//! Every view is a wrapper over `T: AsRef<[u8]>` with a `new_checked` constructor; after it
//! succeeds no accessor can panic. Unknown protocol values are kept (`Unknown(raw)`), never
//! rejected: a recorder must not throw away what it did not understand. No I/O happens here.

mod macros;
#[cfg(test)]
mod testdata;

pub mod error;
pub use error::Error;

// Layers 2-4 (link, VLAN, ARP, IP, UDP/TCP/ICMP) and the one-call dissector.
pub mod arp;
pub mod ethernet;
pub mod icmp;
pub mod ip;
pub mod ipv4;
pub mod ipv6;
pub mod packet;
pub mod sll;
pub mod tcp;
pub mod udp;

// Trading protocols: MoldUDP64, ITCH 5.0, SoupBinTCP, OUCH 4.2/5.0, FIX, Cboe PITCH, IEX-TP,
// NYSE XDP (views and encoders).
pub mod fix;
pub mod iextp;
pub mod itch;
pub mod moldudp64;
pub mod ouch42;
pub mod ouch50;
pub mod pitch;
pub mod soupbin;
pub mod trading;
pub mod xdp;
