//! SQLite backend (the embedded default). HELPER-OWNED.
