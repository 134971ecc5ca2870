//! glibc's `malloc` gives threads arenas of their own as they contend, up to eight per
//! core, and each arena keeps what its threads freed. payport's SQLite reads and
//! commits run on tokio's blocking threads, one at a time on whichever thread is free
//! (its writes on the runtime's workers), so under load many threads allocate and free
//! and every arena grows: peak RSS on SQLite at concurrency 64 was 57-62 MB in the load
//! bench, 45-47 MB with one arena per core (docs/PERFORMANCE.md, which also says what
//! the cap may cost in CPU: within the machine's noise, up to a tenth on SQLite
//! notifications).

/// Caps glibc's malloc arenas at one per core (as the process's CPU quota counts
/// them), unless the operator chose: `MALLOC_ARENA_MAX`, or `glibc.malloc.arena_max` in
/// `GLIBC_TUNABLES` (glibc reads both itself). Call it first thing in `main`, before
/// any other thread exists.
pub fn cap_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let tunables = std::env::var("GLIBC_TUNABLES").unwrap_or_default();
        if std::env::var_os("MALLOC_ARENA_MAX").is_some() || tunables.contains("arena_max") {
            return;
        }
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let cap = libc::c_int::try_from(cores).unwrap_or(libc::c_int::MAX);
        // SAFETY: `mallopt` only sets one of the allocator's parameters, and this runs
        // before any other thread of the process exists.
        #[allow(unsafe_code)]
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, cap);
        }
    }
}
