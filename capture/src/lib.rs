//! Packet sources for wiretape.
