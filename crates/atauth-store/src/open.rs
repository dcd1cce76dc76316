//! Choosing a backend from the `--database` setting.

use crate::postgres::PostgresStore;
use crate::sealed::MasterKey;
use crate::sqlite::SqliteStore;
use crate::{Store, StoreResult};
use std::path::Path;
use std::sync::Arc;

/// Which backend a `--database` value names.
#[derive(Debug, PartialEq, Eq)]
enum Target<'a> {
    Postgres(&'a str),
    Sqlite(&'a str),
    SqliteMemory,
}

fn target(url_or_path: &str) -> Target<'_> {
    let lower = url_or_path.to_ascii_lowercase();
    if lower == "sqlite::memory:" {
        return Target::SqliteMemory;
    }
    if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
        return Target::Postgres(url_or_path);
    }
    if lower.starts_with("sqlite:") {
        let rest = &url_or_path[7..];
        // `sqlite:///abs/path`, `sqlite://rel/path` and `sqlite:path` all name a file.
        let path = rest.strip_prefix("//").unwrap_or(rest);
        return Target::Sqlite(path);
    }
    Target::Sqlite(url_or_path)
}

/// Opens the database named by `url_or_path`: a `postgres://` or `postgresql://` URL opens a
/// [`PostgresStore`] (default [`crate::postgres::PostgresOptions`]); a `sqlite:` URL
/// (`sqlite:///var/lib/atauth/atauth.db`, `sqlite:atauth.db`) or a plain path opens (creating
/// it if missing) a [`SqliteStore`] file, `sqlite::memory:` a private in-memory database.
/// Either way pending migrations are applied.
pub async fn open_database(url_or_path: &str) -> StoreResult<Arc<dyn Store>> {
    open_database_with(url_or_path, None).await
}

/// [`open_database`], sealing signing keys and secrets under `master_key` when one is given
/// (see [`crate::sealed`]).
pub async fn open_database_with(
    url_or_path: &str,
    master_key: Option<Arc<MasterKey>>,
) -> StoreResult<Arc<dyn Store>> {
    Ok(match (target(url_or_path), master_key) {
        (Target::Postgres(url), key) => {
            let store = PostgresStore::connect(url).await?;
            Arc::new(match key {
                Some(key) => store.with_master_key(key),
                None => store,
            })
        }
        (Target::Sqlite(path), key) => {
            let store = SqliteStore::open(Path::new(path)).await?;
            Arc::new(match key {
                Some(key) => store.with_master_key(key),
                None => store,
            })
        }
        (Target::SqliteMemory, key) => {
            let store = SqliteStore::open_in_memory().await?;
            Arc::new(match key {
                Some(key) => store.with_master_key(key),
                None => store,
            })
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_paths_pick_their_backend() {
        let pg = "postgres://u@db:5432/atauth";
        assert_eq!(target(pg), Target::Postgres(pg));
        let pg = "postgresql://u@db/atauth?sslmode=require";
        assert_eq!(target(pg), Target::Postgres(pg));
        let pg = "PostgreSQL://u@db/atauth";
        assert_eq!(target(pg), Target::Postgres(pg));
        assert_eq!(
            target("sqlite:///var/lib/atauth/atauth.db"),
            Target::Sqlite("/var/lib/atauth/atauth.db")
        );
        assert_eq!(
            target("sqlite:data/atauth.db"),
            Target::Sqlite("data/atauth.db")
        );
        assert_eq!(target("sqlite://atauth.db"), Target::Sqlite("atauth.db"));
        assert_eq!(target("/tmp/x.db"), Target::Sqlite("/tmp/x.db"));
        assert_eq!(target("atauth.db"), Target::Sqlite("atauth.db"));
        assert_eq!(target("é"), Target::Sqlite("é"));
        assert_eq!(target("sqlite::memory:"), Target::SqliteMemory);
    }
}
