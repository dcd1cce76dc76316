//! `atauth`: serve, and operator commands that work on a data directory whether or not a
//! server is running on it.

mod cli;
mod commands;
mod serve;

use clap::Parser;

fn main() -> std::process::ExitCode {
    fix_malloc_mmap_threshold();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let cli = cli::Cli::parse();
    match runtime.block_on(commands::run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// glibc raises its mmap threshold each time a large mapped block is freed (up to 32 MiB).
/// After the first argon2 sign-in, the 19 MiB of argon2 working memory would then come from the
/// heap arenas of the blocking threads and stay resident after use: hundreds of MiB after a
/// burst of sign-ins. Setting the threshold explicitly turns that adjustment off, so every
/// argon2 buffer is mapped for the hash and returned to the system right after.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn fix_malloc_mmap_threshold() {
    const ONE_MIB: libc::c_int = 1 << 20;
    #[allow(
        unsafe_code,
        reason = "the server's one unsafe call: glibc exposes this setting through C only"
    )]
    // SAFETY: mallopt(3) takes two integers and touches no memory of ours: it only changes a
    // tuning parameter of glibc's allocator (under glibc's own lock), and it runs first thing in
    // `main`, before the runtime or any other thread exists. 1 MiB is within the accepted range
    // (at most 32 MiB on 64-bit); the return value only says whether it was accepted, and the
    // server works either way.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, ONE_MIB);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn fix_malloc_mmap_threshold() {}
