//! Tests for the permission grammar: the reference vectors, the spec and reference examples,
//! matching tables and property tests.

mod examples;
mod matching;
mod props;
mod vectors;
