//! `loadgen`: see the library crate.
fn main() {}
