//! SQLite backend (the embedded default).
//!
//! One file (WAL journal) shared by all tenants; the statements are those of [`crate::sql`].
//! Reads use a pool of several connections; writes go through one dedicated connection, so they
//! queue in order instead of sleeping in SQLite's busy handler.

use crate::sealed::{AtRest, MasterKey};
use crate::shared::unavailable;
use crate::sql::conn::Pools;
use crate::sql::{migrate, migrate_and_close, SqlBacked, SqlStore};
use crate::StoreResult;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::ConnectOptions;
use std::path::Path;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

// Defined at the crate root (shared by the backends); kept reachable under its old path.
pub use crate::USED_CODE_RETENTION_SECS;

/// Connections in the pool of a file database.
const FILE_POOL_CONNECTIONS: u32 = 8;

const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The SQLite [`Store`](crate::Store). Cheap to clone (the pools are reference-counted).
#[derive(Clone)]
pub struct SqliteStore {
    sql: SqlStore,
    /// In-memory databases live as long as one connection to them is open: this one is never
    /// used, it only keeps the database alive whatever the pool does with its connections.
    anchor: Option<Arc<Mutex<SqliteConnection>>>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("in_memory", &self.anchor.is_some())
            .finish_non_exhaustive()
    }
}

impl SqlBacked for SqliteStore {
    fn sql(&self) -> &SqlStore {
        &self.sql
    }
}

impl SqliteStore {
    /// Opens (creating it if missing) the database file at `path`: WAL journal, foreign keys
    /// on, 5 s busy timeout, `synchronous = NORMAL`; applies pending migrations.
    pub async fn open(path: &Path) -> StoreResult<Self> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
            .synchronous(SqliteSynchronous::Normal);

        // Switching a database into WAL needs an exclusive lock that the busy timeout does not
        // wait for, so do it (and the migrations) on one connection before the pool opens more.
        // WAL is persistent: pool connections then find the file in WAL mode already.
        let bootstrap = options
            .clone()
            .journal_mode(SqliteJournalMode::Wal)
            .connect()
            .await
            .map_err(|e| unavailable("open database", &e))?;
        migrate_and_close(&MIGRATOR, bootstrap, "open database").await?;

        // Every write goes through this one connection (see `Pools::Sqlite`).
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await
            .map_err(|e| unavailable("open database", &e))?;
        let reader = SqlitePoolOptions::new()
            .max_connections(FILE_POOL_CONNECTIONS)
            .connect_with(options)
            .await
            .map_err(|e| unavailable("open database", &e))?;
        Ok(Self {
            sql: SqlStore::new(Pools::Sqlite { reader, writer }),
            anchor: None,
        })
    }

    /// A fresh private in-memory database (tests, demos). Each call gets its own database.
    ///
    /// The database is a uniquely named shared-cache memory database reached through a pool of
    /// ONE connection (shared-cache table locks are not covered by the busy timeout, so
    /// statements are serialised instead), plus an idle anchor connection that keeps the
    /// database alive even if the pool recycles its connection.
    pub async fn open_in_memory() -> StoreResult<Self> {
        // `sqlite::memory:` gives a unique `file:sqlx-in-memory-N` shared-cache name per parse.
        let options = SqliteConnectOptions::from_str("sqlite::memory:")
            .map_err(|e| unavailable("open database", &e))?
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);

        let mut anchor = options
            .clone()
            .connect()
            .await
            .map_err(|e| unavailable("open database", &e))?;
        migrate(&MIGRATOR, &mut anchor).await?;

        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await
            .map_err(|e| unavailable("open database", &e))?;
        Ok(Self {
            sql: SqlStore::new(Pools::Sqlite {
                reader: pool.clone(),
                writer: pool,
            }),
            anchor: Some(Arc::new(Mutex::new(anchor))),
        })
    }

    /// Seals new signing keys and secrets under `master_key` from now on, and opens sealed ones
    /// with it. Without this, values are written as given and sealed rows cannot be read.
    pub fn with_master_key(mut self, master_key: Arc<MasterKey>) -> Self {
        self.sql.at_rest = AtRest::new(Some(master_key));
        self
    }
}
