//! One file per thing measured.

pub mod codec;
pub mod histogram;
pub mod roundtrip;
