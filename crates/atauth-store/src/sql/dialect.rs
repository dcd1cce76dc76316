//! The few places where the SQL of the two backends differs. Everything else is written once:
//! both accept `$N` placeholders, `FALSE`/`TRUE` and `NOT flag` (SQLite stores booleans as 0/1
//! and reads the keywords as those), `CAST($N AS TEXT) IS NULL` for an optional filter,
//! `IS NOT DISTINCT FROM`, `INSERT ... ON CONFLICT ... DO UPDATE ... WHERE` and `RETURNING`.

/// What a backend spells its own way.
#[derive(Debug)]
pub(crate) struct Dialect {
    /// For logs and `Debug` output.
    pub(crate) name: &'static str,
    /// The column that orders rows by insertion, to break ties: SQLite's implicit `rowid`; the
    /// PostgreSQL schema has a `seq` identity column in the tables that need one.
    pub(crate) insertion_order: &'static str,
    /// Orders text byte by byte whatever the database's collation: SQLite's `BINARY` (its
    /// default), PostgreSQL's `"C"`.
    pub(crate) byte_order: &'static str,
    /// The smaller of two values: SQLite's two-argument `MIN`, PostgreSQL's `LEAST`.
    pub(crate) least: &'static str,
    /// Whether the bound refresh rotation first finds its row by the refresh token alone, in a
    /// `MATERIALIZED` CTE (PostgreSQL: see `rotate_refresh_bound`), or updates it directly.
    pub(crate) rotation_finds_target_first: bool,
}

pub(crate) const SQLITE: Dialect = Dialect {
    name: "sqlite",
    insertion_order: "rowid",
    byte_order: "COLLATE BINARY",
    least: "MIN",
    rotation_finds_target_first: false,
};

pub(crate) const POSTGRES: Dialect = Dialect {
    name: "postgres",
    insertion_order: "seq",
    byte_order: "COLLATE \"C\"",
    least: "LEAST",
    rotation_finds_target_first: true,
};
