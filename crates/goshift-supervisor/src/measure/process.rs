//! A process's resource use from `/proc/PID`: resident memory, CPU time, threads, open fds.

use std::time::Duration;

use crate::analysis::process::ProcessSample;

/// What `/proc/PID/stat` says about CPU time and threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    /// `utime + stime`, clock ticks.
    pub cpu_ticks: u64,
    /// `num_threads`.
    pub threads: u64,
}

/// Parses `/proc/PID/stat`. The command name (field 2) is in parentheses and may hold spaces
/// and parentheses itself, so fields are counted from the last `)`.
pub fn parse_stat(text: &str) -> Option<Stat> {
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state is field 3, so field N is at index N - 3.
    let field = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
    Some(Stat {
        cpu_ticks: field(14)?.checked_add(field(15)?)?,
        threads: field(20)?,
    })
}

/// `VmRSS` of `/proc/PID/status`, bytes.
pub fn parse_status_rss(text: &str) -> Option<u64> {
    let line = text.lines().find_map(|l| l.strip_prefix("VmRSS:"))?;
    let kib: u64 = line.trim().strip_suffix("kB")?.trim().parse().ok()?;
    kib.checked_mul(1024)
}

/// Clock ticks per second (`sysconf(_SC_CLK_TCK)`), 100 when it cannot be read.
pub fn ticks_per_second() -> u64 {
    // SAFETY: sysconf reads a constant; no pointers.
    #[expect(unsafe_code, reason = "sysconf has no safe wrapper in libc")]
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(ticks).ok().filter(|&t| t > 0).unwrap_or(100)
}

/// Samples `pid`; `at` is the caller's monotonic time of the sample. `None` once the process
/// is gone.
pub fn sample(pid: u32, at: Duration, ticks_per_second: u64) -> Option<ProcessSample> {
    let stat = parse_stat(&goshift_fs::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)?;
    let rss =
        parse_status_rss(&goshift_fs::fs::read_to_string(format!("/proc/{pid}/status")).ok()?)?;
    let fds = goshift_fs::fs::read_dir(format!("/proc/{pid}/fd"))
        .ok()?
        .count() as u64;
    let ticks = ticks_per_second.max(1);
    let cpu = Duration::from_secs(stat.cpu_ticks / ticks)
        + Duration::from_nanos((stat.cpu_ticks % ticks) * 1_000_000_000 / ticks);
    Some(ProcessSample {
        at,
        rss,
        cpu,
        threads: stat.threads,
        fds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_a_hostile_command_name() {
        let text = "4242 (a) b (c)) S 1 4242 4242 0 -1 4194560 120 0 0 0 37 5 0 0 20 0 7 0 100 1000000 300 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";
        assert_eq!(
            parse_stat(text),
            Some(Stat {
                cpu_ticks: 42,
                threads: 7
            })
        );
        assert_eq!(parse_stat("4242 (cut"), None);
        assert_eq!(parse_stat("4242 (x) S 1 2"), None);
    }

    #[test]
    fn status_rss() {
        assert_eq!(
            parse_status_rss("Name:\tgo\nVmRSS:\t   12345 kB\nThreads:\t4\n"),
            Some(12_345 * 1024)
        );
        assert_eq!(parse_status_rss("Name:\tkthread\n"), None);
    }

    #[test]
    fn samples_a_real_child() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let sample = sample(child.id(), Duration::from_secs(1), ticks_per_second());
        child.kill().unwrap();
        child.wait().unwrap();
        let sample = sample.expect("the child is alive");
        assert!(sample.rss > 0);
        assert_eq!(sample.threads, 1);
        assert!(sample.fds >= 3, "stdin, stdout, stderr: {}", sample.fds);
        assert!(
            super::sample(child.id(), Duration::ZERO, 100).is_none(),
            "reaped: gone"
        );
    }
}
