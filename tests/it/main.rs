//! Integration tests: the seed's experiments, run through the emulator.

mod asl;
mod pattern_a;
mod scenarios;
mod templates;
