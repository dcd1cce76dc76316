//! Closed-loop load at fixed concurrency, bounded in operations and in time.

use crate::server::{cpu_time, own_cpu};
use crate::stats::{ms, percentile};
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Default)]
pub struct LoadResult {
    pub ok: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub elapsed: Duration,
    /// Latencies of successful operations, sorted.
    pub latencies: Vec<Duration>,
    /// CPU time the server process used meanwhile.
    pub server_cpu: Duration,
    /// CPU time this process (the load generator) used meanwhile.
    pub client_cpu: Duration,
    pub concurrency: usize,
}

impl LoadResult {
    pub fn rate(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
    pub fn p50_ms(&self) -> Option<f64> {
        percentile(&self.latencies, 50.0).map(ms)
    }
    pub fn p99_ms(&self) -> Option<f64> {
        percentile(&self.latencies, 99.0).map(ms)
    }
    /// Server CPU time per successful operation, in µs.
    pub fn server_us_per_op(&self) -> Option<f64> {
        (self.ok > 0).then(|| self.server_cpu.as_secs_f64() * 1e6 / self.ok as f64)
    }
    pub fn client_us_per_op(&self) -> Option<f64> {
        (self.ok > 0).then(|| self.client_cpu.as_secs_f64() * 1e6 / self.ok as f64)
    }
}

/// Runs `op(i)` for i = 0, 1, ... from `concurrency` workers until `max_ops` operations have
/// started or `budget` has passed, whichever comes first. `server_pid` is sampled for CPU time.
pub async fn run<F, Fut>(
    concurrency: usize,
    max_ops: usize,
    budget: Duration,
    server_pid: u32,
    op: F,
) -> LoadResult
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let op = Arc::new(op);
    let next = Arc::new(AtomicUsize::new(0));
    let first_error = Arc::new(Mutex::new(None::<String>));
    let stat = format!("/proc/{server_pid}/stat");
    let server_before = cpu_time(&stat).unwrap_or_default();
    let client_before = own_cpu();
    let start = Instant::now();
    let deadline = start + budget;
    let mut tasks = Vec::new();
    for _ in 0..concurrency.max(1) {
        let op = op.clone();
        let next = next.clone();
        let first_error = first_error.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0u64;
            loop {
                if Instant::now() >= deadline {
                    break;
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= max_ops {
                    break;
                }
                let t0 = Instant::now();
                match op(i).await {
                    Ok(()) => latencies.push(t0.elapsed()),
                    Err(e) => {
                        errors += 1;
                        let mut slot = first_error.lock().expect("lock");
                        if slot.is_none() {
                            *slot = Some(format!("{e:#}"));
                        }
                    }
                }
            }
            (latencies, errors)
        }));
    }
    let mut result = LoadResult {
        concurrency,
        ..LoadResult::default()
    };
    for task in tasks {
        if let Ok((latencies, errors)) = task.await {
            result.ok += latencies.len() as u64;
            result.errors += errors;
            result.latencies.extend(latencies);
        }
    }
    result.elapsed = start.elapsed();
    result.server_cpu = cpu_time(&stat)
        .unwrap_or_default()
        .saturating_sub(server_before);
    result.client_cpu = own_cpu().saturating_sub(client_before);
    result.latencies.sort();
    result.first_error = first_error.lock().expect("lock").take();
    result
}
