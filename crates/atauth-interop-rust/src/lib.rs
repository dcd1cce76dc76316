//! Nothing here: the interop test lives in `tests/atrium.rs` (see `interop/README.md`).
