//! `DISCLOSE_TRACE_MEMORY=1`: the resident and peak memory of the process after each stage of an
//! export, and the time the stage took, on standard error (memory on Linux only; stage names,
//! sizes and times, never data). For the memory target, and for finding which stage to slim next.

use std::sync::Mutex;
use std::time::Instant;

/// When the last stage ended.
static LAST: Mutex<Option<Instant>> = Mutex::new(None);

/// Start timing the stages of a run (prints nothing).
pub fn begin() {
    if let Ok(mut last) = LAST.lock() {
        *last = Some(Instant::now());
    }
}

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
    let now = Instant::now();
    let took = match LAST.lock() {
        Ok(mut last) => {
            let t = last.map(|l| now.duration_since(l).as_secs_f64()).unwrap_or(0.0);
            *last = Some(now);
            t
        }
        Err(_) => 0.0,
    };
    eprintln!("memory after {stage}: {} MB resident, {} MB peak ({took:.2} s)", field("VmRSS:"), field("VmHWM:"));
}
