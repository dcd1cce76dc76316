//! Where statements run: a SQL backend's connections, and the few ways a statement is executed.
//!
//! A [`Statement`] is written once for both backends, with `$N` placeholders: PostgreSQL binds
//! them natively, and sqlx's SQLite driver binds `$N` to the N-th argument (a placeholder used
//! twice is bound once). Each executing method matches on the backend once; the statements and
//! the code around them know nothing of it (their few differences are in [`Dialect`]).

use super::dialect::{Dialect, POSTGRES, SQLITE};
use crate::shared::map_err;
use crate::StoreResult;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{Arguments, Database, Encode, PgPool, SqlitePool, Type};
use std::borrow::Cow;

/// The connections of a SQL database.
#[derive(Clone, Debug)]
pub(crate) enum Pools {
    /// Reads use `reader`, a pool of several connections; every write goes through `writer`,
    /// one dedicated connection, so writers queue in order instead of contending for SQLite's
    /// write lock (whose busy handler sleeps in steps of milliseconds). Reads never wait for
    /// writers (WAL). In memory, both are the same one-connection pool.
    Sqlite {
        reader: SqlitePool,
        writer: SqlitePool,
    },
    /// One pool for reads and writes: PostgreSQL runs concurrent writers itself.
    Postgres(PgPool),
}

impl Pools {
    /// Where reads go.
    pub(crate) fn reader(&self) -> Conn<'_> {
        match self {
            Self::Sqlite { reader, .. } => Conn::Sqlite(reader),
            Self::Postgres(pool) => Conn::Postgres(pool),
        }
    }

    /// Where writes (and reads that must follow a write in order) go.
    pub(crate) fn writer(&self) -> Conn<'_> {
        match self {
            Self::Sqlite { writer, .. } => Conn::Sqlite(writer),
            Self::Postgres(pool) => Conn::Postgres(pool),
        }
    }

    pub(crate) fn dialect(&self) -> &'static Dialect {
        match self {
            Self::Sqlite { .. } => &SQLITE,
            Self::Postgres(_) => &POSTGRES,
        }
    }

    /// Closes the pools, waiting for connections in use to be returned.
    pub(crate) async fn close(&self) {
        match self {
            Self::Sqlite { reader, writer } => {
                writer.close().await;
                reader.close().await;
            }
            Self::Postgres(pool) => pool.close().await,
        }
    }
}

/// One pool of one backend, to run statements on.
#[derive(Clone, Copy)]
pub(crate) enum Conn<'a> {
    Sqlite(&'a SqlitePool),
    Postgres(&'a PgPool),
}

/// A value bound to a placeholder.
#[derive(Debug, Clone)]
pub(crate) enum Arg<'a> {
    Int(i64),
    OptInt(Option<i64>),
    Bool(bool),
    Text(Cow<'a, str>),
    OptText(Option<Cow<'a, str>>),
    Bytes(Cow<'a, [u8]>),
}

impl From<i64> for Arg<'_> {
    fn from(v: i64) -> Self {
        Arg::Int(v)
    }
}
impl From<Option<i64>> for Arg<'_> {
    fn from(v: Option<i64>) -> Self {
        Arg::OptInt(v)
    }
}
impl From<bool> for Arg<'_> {
    fn from(v: bool) -> Self {
        Arg::Bool(v)
    }
}
impl<'a> From<&'a str> for Arg<'a> {
    fn from(v: &'a str) -> Self {
        Arg::Text(Cow::Borrowed(v))
    }
}
impl<'a> From<&'a String> for Arg<'a> {
    fn from(v: &'a String) -> Self {
        Arg::Text(Cow::Borrowed(v))
    }
}
impl From<String> for Arg<'_> {
    fn from(v: String) -> Self {
        Arg::Text(Cow::Owned(v))
    }
}
impl<'a> From<Option<&'a str>> for Arg<'a> {
    fn from(v: Option<&'a str>) -> Self {
        Arg::OptText(v.map(Cow::Borrowed))
    }
}
impl<'a> From<&'a Option<String>> for Arg<'a> {
    fn from(v: &'a Option<String>) -> Self {
        Arg::OptText(v.as_deref().map(Cow::Borrowed))
    }
}
impl From<Option<String>> for Arg<'_> {
    fn from(v: Option<String>) -> Self {
        Arg::OptText(v.map(Cow::Owned))
    }
}
impl<'a> From<&'a Vec<u8>> for Arg<'a> {
    fn from(v: &'a Vec<u8>) -> Self {
        Arg::Bytes(Cow::Borrowed(v))
    }
}
impl From<Vec<u8>> for Arg<'_> {
    fn from(v: Vec<u8>) -> Self {
        Arg::Bytes(Cow::Owned(v))
    }
}

/// A statement and its arguments, `$1` first.
#[derive(Debug, Clone)]
pub(crate) struct Statement<'a> {
    sql: Cow<'a, str>,
    args: Vec<Arg<'a>>,
}

/// A statement of text `sql`, to [`bind`](Statement::bind) its arguments to.
pub(crate) fn statement<'a>(sql: impl Into<Cow<'a, str>>) -> Statement<'a> {
    Statement {
        sql: sql.into(),
        args: Vec::new(),
    }
}

impl<'a> Statement<'a> {
    /// Binds the next placeholder (`$1`, then `$2`, ...).
    pub(crate) fn bind(mut self, value: impl Into<Arg<'a>>) -> Self {
        self.args.push(value.into());
        self
    }
}

/// The arguments of `args`, encoded for the database `DB`.
fn encode<'q, DB: Database>(args: &'q [Arg<'_>]) -> Result<DB::Arguments<'q>, sqlx::Error>
where
    i64: Encode<'q, DB> + Type<DB>,
    Option<i64>: Encode<'q, DB> + Type<DB>,
    bool: Encode<'q, DB> + Type<DB>,
    &'q str: Encode<'q, DB> + Type<DB>,
    Option<&'q str>: Encode<'q, DB> + Type<DB>,
    &'q [u8]: Encode<'q, DB> + Type<DB>,
{
    let mut encoded = DB::Arguments::default();
    encoded.reserve(args.len(), 0);
    for arg in args {
        match arg {
            Arg::Int(v) => encoded.add(*v),
            Arg::OptInt(v) => encoded.add(*v),
            Arg::Bool(v) => encoded.add(*v),
            Arg::Text(v) => encoded.add(v.as_ref()),
            Arg::OptText(v) => encoded.add(v.as_deref()),
            Arg::Bytes(v) => encoded.add(v.as_ref()),
        }
        .map_err(sqlx::Error::Encode)?;
    }
    Ok(encoded)
}

/// A row type both backends decode (the derives of [`crate::rows`] and tuples are generic).
pub(crate) trait Row:
    for<'r> sqlx::FromRow<'r, SqliteRow> + for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin
{
}
impl<T> Row for T where
    T: for<'r> sqlx::FromRow<'r, SqliteRow> + for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin
{
}

/// Evaluates `$body` on the backend of `$conn`, with `$pool` its pool and `$Db` its sqlx
/// database type: the body is written once and compiled for each backend.
macro_rules! on_backend {
    ($conn:expr, |$pool:ident, $Db:ident| $body:expr) => {
        match $conn {
            Conn::Sqlite($pool) => {
                type $Db = sqlx::Sqlite;
                $body
            }
            Conn::Postgres($pool) => {
                type $Db = sqlx::Postgres;
                $body
            }
        }
    };
}

impl Conn<'_> {
    /// The row the statement returns, if any. `op` names the operation in errors.
    pub(crate) async fn fetch_optional<R: Row>(
        self,
        op: &'static str,
        statement: Statement<'_>,
    ) -> StoreResult<Option<R>> {
        let Statement { sql, args } = &statement;
        let row = on_backend!(self, |pool, Db| async {
            sqlx::query_as_with(sql, encode::<Db>(args)?)
                .fetch_optional(pool)
                .await
        }
        .await);
        row.map_err(|e| map_err(op, e))
    }

    /// The one row the statement returns (none is an error).
    pub(crate) async fn fetch_one<R: Row>(
        self,
        op: &'static str,
        statement: Statement<'_>,
    ) -> StoreResult<R> {
        self.fetch_optional(op, statement)
            .await?
            .ok_or_else(|| map_err(op, sqlx::Error::RowNotFound))
    }

    /// Every row the statement returns.
    pub(crate) async fn fetch_all<R: Row>(
        self,
        op: &'static str,
        statement: Statement<'_>,
    ) -> StoreResult<Vec<R>> {
        let Statement { sql, args } = &statement;
        let rows = on_backend!(self, |pool, Db| async {
            sqlx::query_as_with(sql, encode::<Db>(args)?)
                .fetch_all(pool)
                .await
        }
        .await);
        rows.map_err(|e| map_err(op, e))
    }

    /// Runs the statement; returns the number of rows it changed.
    pub(crate) async fn execute(
        self,
        op: &'static str,
        statement: Statement<'_>,
    ) -> StoreResult<u64> {
        let Statement { sql, args } = &statement;
        let done = on_backend!(self, |pool, Db| async {
            let done = sqlx::query_with(sql, encode::<Db>(args)?)
                .execute(pool)
                .await?;
            Ok(done.rows_affected())
        }
        .await);
        done.map_err(|e: sqlx::Error| map_err(op, e))
    }

    /// Runs the statements in order, in one transaction.
    pub(crate) async fn execute_in_transaction(
        self,
        op: &'static str,
        statements: &[Statement<'_>],
    ) -> StoreResult<()> {
        let done = on_backend!(self, |pool, Db| async {
            let mut tx = pool.begin().await?;
            for Statement { sql, args } in statements {
                sqlx::query_with(sql, encode::<Db>(args)?)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await
        }
        .await);
        done.map_err(|e| map_err(op, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The statements rely on it: sqlx's SQLite driver binds `$N` to the N-th argument, in any
    /// order and as often as it appears, as PostgreSQL does.
    #[tokio::test]
    async fn sqlite_binds_numbered_placeholders_by_number() {
        let pool = SqlitePool::connect("sqlite::memory:").await.unwrap();
        let select = statement("SELECT $3, $1, $2, $1, CAST($4 AS TEXT) IS NULL")
            .bind(7)
            .bind("two")
            .bind(vec![3u8])
            .bind(None::<&str>);
        let row: (Vec<u8>, i64, String, i64, bool) =
            Conn::Sqlite(&pool).fetch_one("test", select).await.unwrap();
        assert_eq!(row, (vec![3], 7, "two".to_owned(), 7, true));
    }

    /// Booleans written as keywords and read as flags, in SQLite's 0/1 columns.
    #[tokio::test]
    async fn sqlite_reads_boolean_keywords() {
        let pool = SqlitePool::connect("sqlite::memory:").await.unwrap();
        let select = statement("SELECT FALSE, TRUE, NOT FALSE, $1 IS NOT DISTINCT FROM NULL")
            .bind(None::<i64>);
        let row: (bool, bool, bool, bool) =
            Conn::Sqlite(&pool).fetch_one("test", select).await.unwrap();
        assert_eq!(row, (false, true, true, true));
    }
}
