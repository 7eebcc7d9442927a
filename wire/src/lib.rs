//! Zero-copy views over packet and trading-protocol bytes.
//!
//! Every view is a wrapper over `T: AsRef<[u8]>` with a `new_checked` constructor; after it
//! succeeds no accessor can panic. Unknown protocol values are kept (`Unknown(raw)`), never
//! rejected: a recorder must not throw away what it did not understand. No I/O happens here.
