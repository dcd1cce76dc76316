//! Batched single-use markers for the database replay cache.
//!
//! Every DPoP request records its proof's `jti`, so under load the replay table takes one write
//! per request, and with SQLite each write is a round trip to a database worker thread plus a
//! WAL commit. The [`ReplayBatcher`] gathers the markers that arrive while the previous batch
//! is being written and records them with ONE statement ([`TenantRepo::record_once_batch`]).
//! Nothing waits to fill a batch: an idle server writes batches of one, a busy one writes
//! whatever queued up meanwhile. Semantics are those of [`TenantRepo::record_once`]: each
//! caller learns whether its marker was new, atomically, across instances.

use crate::{StoreError, StoreResult, TenantRepo};
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use tokio::sync::{mpsc, oneshot};

/// Most markers written by one statement (4 bound values each, far below SQLite's and
/// PostgreSQL's parameter limits).
pub const MAX_BATCH: usize = 64;

/// Markers waiting for the writer; past this the callers wait for room (back-pressure).
const QUEUE_CAPACITY: usize = 4 * MAX_BATCH;

/// One marker of a batch. The caller makes the `(namespace, key)` pairs of a batch distinct.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayMarker {
    pub namespace: String,
    pub key: String,
    pub expires_at: i64,
}

struct Pending {
    marker: ReplayMarker,
    now: i64,
    reply: oneshot::Sender<StoreResult<bool>>,
}

/// Feeds one tenant's markers to a writer task, started on first use (a cooperative that only
/// serves metadata costs no task). The task ends when the batcher is dropped.
pub struct ReplayBatcher {
    repo: Arc<dyn TenantRepo>,
    queue: OnceLock<mpsc::Sender<Pending>>,
}

impl ReplayBatcher {
    pub fn new(repo: Arc<dyn TenantRepo>) -> Self {
        Self {
            repo,
            queue: OnceLock::new(),
        }
    }

    /// The writer's queue, starting the writer task if needed (inside a Tokio runtime, as
    /// every caller of the store is).
    fn queue(&self) -> &mpsc::Sender<Pending> {
        self.queue.get_or_init(|| {
            let (queue, receiver) = mpsc::channel(QUEUE_CAPACITY);
            tokio::spawn(write_batches(self.repo.clone(), receiver));
            queue
        })
    }

    /// Records `key` in `namespace` until `expires_at`: `true` the first time.
    pub async fn record_once(
        &self,
        namespace: &str,
        key: &str,
        expires_at: i64,
        now: i64,
    ) -> StoreResult<bool> {
        let (reply, answer) = oneshot::channel();
        let pending = Pending {
            marker: ReplayMarker {
                namespace: namespace.to_owned(),
                key: key.to_owned(),
                expires_at,
            },
            now,
            reply,
        };
        self.queue()
            .send(pending)
            .await
            .map_err(|_| writer_gone())?;
        answer.await.map_err(|_| writer_gone())?
    }
}

fn writer_gone() -> StoreError {
    StoreError::Unavailable("the replay marker writer stopped".into())
}

async fn write_batches(repo: Arc<dyn TenantRepo>, mut receiver: mpsc::Receiver<Pending>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while receiver.recv_many(&mut batch, MAX_BATCH).await > 0 {
        write_one_batch(repo.as_ref(), std::mem::take(&mut batch)).await;
    }
}

async fn write_one_batch(repo: &dyn TenantRepo, batch: Vec<Pending>) {
    // The earliest clock of the batch decides which recorded markers have expired, so a marker
    // that is still live for any caller of the batch is never taken over.
    let now = batch.iter().map(|p| p.now).min().unwrap_or_default();
    // The same marker twice in one batch (a replay racing its original): the first caller
    // gets the database's answer, the others are replays whatever it says.
    let mut first_of: HashMap<(&str, &str), usize> = HashMap::with_capacity(batch.len());
    let mut markers = Vec::with_capacity(batch.len());
    let mut slot_of_caller = Vec::with_capacity(batch.len());
    for pending in &batch {
        let id = (
            pending.marker.namespace.as_str(),
            pending.marker.key.as_str(),
        );
        match first_of.get(&id) {
            Some(_) => slot_of_caller.push(None),
            None => {
                first_of.insert(id, markers.len());
                slot_of_caller.push(Some(markers.len()));
                markers.push(pending.marker.clone());
            }
        }
    }
    let result = repo.record_once_batch(&markers, now).await;
    for (pending, slot) in batch.into_iter().zip(slot_of_caller) {
        let answer = match (&result, slot) {
            (Err(e), _) => Err(e.clone()),
            (Ok(_), None) => Ok(false),
            (Ok(firsts), Some(i)) => Ok(firsts.get(i).copied().unwrap_or(false)),
        };
        // A caller that gave up (its request was cancelled) no longer listens.
        let _ = pending.reply.send(answer);
    }
}
