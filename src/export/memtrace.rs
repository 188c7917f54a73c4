//! `DISCLOSE_TRACE_MEMORY=1`: the resident and peak memory of the process after each stage of an
//! export, on standard error (Linux only; stage names and sizes, never data). For the issue's
//! memory target, and for finding which stage to slim next.

/// Print the resident set size and its peak so far after `stage`, if tracing is on.
pub fn mark(stage: &str) {
    if std::env::var_os("DISCLOSE_TRACE_MEMORY").is_none() {
        return;
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .map(|kb| kb / 1024)
            .unwrap_or(0)
    };
    eprintln!("memory after {stage}: {} MB resident, {} MB peak", field("VmRSS:"), field("VmHWM:"));
}
