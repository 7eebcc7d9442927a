//! An order-entry TCP session: the connection, its application (OUCH or FIX) and the shape
//! of its exchanges in time.
//!
//! A session starts with the three-way handshake and the login, runs exchanges (one side's
//! write, the other side's answer a round trip later, a pure ACK), and ends with a logout and
//! both FINs. Writes are sometimes packed (several messages in one segment) and sometimes
//! split (a message whose bytes cross segments); the first exchanges of every session force
//! both, so that even a short capture has them.

use super::fix::Fix;
use super::frame::{ACK, FIN, SYN};
use super::ouch::{Forced, Ouch};
use super::rng::Rng;
use super::symbols::Universe;
use super::tcp::{Mark, Queue, Tcp, Write};

/// The application of a session.
#[derive(Debug)]
pub(crate) enum App {
    Ouch(Ouch),
    Fix(Fix),
}

/// One order-entry session.
#[derive(Debug)]
pub(crate) struct Session {
    pub index: usize,
    pub name: String,
    pub protocol: &'static str,
    pub tcp: Tcp,
    pub app: App,
    /// The handshake has been queued.
    pub started: bool,
    /// The closing sequence has been queued.
    pub closing: bool,
    /// No new exchange before this time: the previous one is still being sent.
    pub busy_until: u64,
    exchanges: u64,
    first: Write,
    second: Write,
    // What was emitted, for the truth.
    pub handshake_seen: u8,
    pub fins_seen: u8,
    pub client_bytes: u64,
    pub server_bytes: u64,
    pub original_packet: Option<u64>,
}

/// Round-trip delay between a write and its answer, ns.
fn rtt(rng: &mut Rng) -> u64 {
    rng.log_uniform(8_000.0, 40_000.0) as u64
}

/// Delay before a pure ACK, ns.
fn ack_delay(rng: &mut Rng) -> u64 {
    rng.range(5_000, 40_000)
}

impl Session {
    pub fn new(index: usize, name: String, protocol: &'static str, tcp: Tcp, app: App) -> Self {
        Session {
            index,
            name,
            protocol,
            tcp,
            app,
            started: false,
            closing: false,
            busy_until: 0,
            exchanges: 0,
            first: Write::default(),
            second: Write::default(),
            handshake_seen: 0,
            fins_seen: 0,
            client_bytes: 0,
            server_bytes: 0,
            original_packet: None,
        }
    }

    /// Packets the closing sequence queues.
    pub fn closing_packets(&self) -> usize {
        match self.app {
            App::Ouch(_) => 4,
            App::Fix(_) => 5,
        }
    }

    /// Queues the handshake and the login, starting at `now`.
    pub fn start(&mut self, q: &mut Queue, rng: &mut Rng, now: u64, midnight: u64) {
        self.started = true;
        let i = self.index;
        let mut t = now;
        self.tcp.control(q, i, true, SYN, t, Mark::Handshake(0));
        t += rtt(rng);
        self.tcp
            .control(q, i, false, SYN | ACK, t, Mark::Handshake(1));
        t += rng.range(2_000, 6_000);
        self.tcp.control(q, i, true, ACK, t, Mark::Handshake(2));
        t += rng.range(5_000, 30_000);
        self.first.clear();
        self.second.clear();
        match &mut self.app {
            App::Ouch(o) => {
                o.login(&mut self.first);
                o.accept(&mut self.second, t + 20_000 - midnight);
            }
            App::Fix(f) => {
                f.logon(&mut self.first, true, t);
                f.logon(&mut self.second, false, t + 20_000);
            }
        }
        self.busy_until = self.roundtrip(q, rng, true, t, false, false);
    }

    /// Queues one exchange starting at `now`.
    pub fn exchange(
        &mut self,
        q: &mut Queue,
        rng: &mut Rng,
        uni: &mut Universe,
        now: u64,
        midnight: u64,
    ) {
        self.first.clear();
        self.second.clear();
        let n = self.exchanges;
        self.exchanges += 1;
        // The first exchanges force a packed write, then a split client write, then a split
        // answer.
        let batch = n == 0;
        let ts = now + 15_000 - midnight;
        let client_first = match &mut self.app {
            App::Ouch(o) => o.exchange(
                rng,
                uni,
                &mut self.first,
                &mut self.second,
                ts,
                if batch { Forced::Batch } else { Forced::None },
            ),
            App::Fix(f) => f.exchange(rng, uni, &mut self.first, &mut self.second, now, batch),
        };
        let split_first = n == 1 || rng.chance(0.08);
        let split_second = n == 2 || rng.chance(0.08);
        self.busy_until = self.roundtrip(q, rng, client_first, now, split_first, split_second);
    }

    /// Queues the logout and both FINs, starting at `now`.
    pub fn close(&mut self, q: &mut Queue, rng: &mut Rng, now: u64) {
        self.closing = true;
        self.tcp.retransmit_enabled = false;
        let i = self.index;
        self.first.clear();
        self.second.clear();
        let mut t = now;
        match &mut self.app {
            App::Ouch(o) => {
                o.logout(&mut self.first);
                t = self.tcp.send(q, rng, i, true, &self.first, &[], t);
                t += rtt(rng);
                self.tcp.control(q, i, false, FIN | ACK, t, Mark::Fin(1));
                t += rng.range(2_000, 10_000);
                self.tcp.control(q, i, true, FIN | ACK, t, Mark::Fin(0));
                t += rtt(rng);
                self.tcp.control(q, i, false, ACK, t, Mark::Plain);
            }
            App::Fix(f) => {
                f.logout(&mut self.first, true, t);
                t = self.tcp.send(q, rng, i, true, &self.first, &[], t);
                t += rtt(rng);
                f.logout(&mut self.second, false, t);
                t = self.tcp.send(q, rng, i, false, &self.second, &[], t);
                t += rng.range(2_000, 10_000);
                self.tcp.control(q, i, true, FIN | ACK, t, Mark::Fin(0));
                t += rtt(rng);
                self.tcp.control(q, i, false, FIN | ACK, t, Mark::Fin(1));
                t += rng.range(2_000, 10_000);
                self.tcp.control(q, i, true, ACK, t, Mark::Plain);
            }
        }
        self.busy_until = t;
    }

    /// Queues `first` from one side, `second` (if any) from the other a round trip later,
    /// and a pure ACK from the side that spoke first (or from the other side if nobody
    /// answered). Returns when the last packet is due.
    fn roundtrip(
        &mut self,
        q: &mut Queue,
        rng: &mut Rng,
        client_first: bool,
        now: u64,
        split_first: bool,
        split_second: bool,
    ) -> u64 {
        let i = self.index;
        let mut cuts = [0u32; 1];
        let cut = |w: &Write, rng: &mut Rng, on: bool, cuts: &mut [u32; 1]| -> usize {
            if on {
                if let Some(c) = w.cut_inside(rng) {
                    cuts[0] = c;
                    return 1;
                }
            }
            0
        };
        let n = cut(&self.first, rng, split_first, &mut cuts);
        let mut t = self
            .tcp
            .send(q, rng, i, client_first, &self.first, &cuts[..n], now);
        if self.second.is_empty() {
            t += ack_delay(rng);
            self.tcp.control(q, i, !client_first, ACK, t, Mark::Plain);
            return t;
        }
        t += rtt(rng);
        let n = cut(&self.second, rng, split_second, &mut cuts);
        t = self
            .tcp
            .send(q, rng, i, !client_first, &self.second, &cuts[..n], t);
        if rng.chance(0.8) {
            t += ack_delay(rng);
            self.tcp.control(q, i, client_first, ACK, t, Mark::Plain);
        }
        t
    }
}
