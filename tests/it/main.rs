//! Integration tests: the seed's experiments, run through the emulator.

mod pattern_a;
mod pattern_b;
