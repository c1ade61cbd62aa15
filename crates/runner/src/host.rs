/// This machine's name, as recorded with runs.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

/// Whether a live headsweep worker has this process id on this machine.
/// A zombie (killed, not yet reaped — common in containers whose init does
/// not reap) counts as gone, and so does a process whose command line shows
/// it is not a headsweep worker (the id was reused).
pub fn pid_alive(pid: i64) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    if let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        let state = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.trim_start().chars().next());
        if matches!(state, Some('Z') | Some('X')) {
            return false;
        }
        if let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) {
            let args: Vec<&[u8]> = cmdline.split(|&b| b == 0).collect();
            return args.iter().any(|a| *a == b"worker");
        }
        return true;
    }
    // No /proc: ask the kernel whether the process exists.
    // SAFETY: signal 0 only checks that the process exists.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_test_process_is_no_worker_and_a_dead_pid_is_gone() {
        // The test binary is alive but is not a `headsweep worker`.
        assert!(!pid_alive(std::process::id() as i64));
        assert!(!pid_alive(0));
        assert!(!pid_alive(i64::from(i32::MAX)));
    }

    #[test]
    fn a_zombie_is_gone() {
        let mut child = std::process::Command::new("sh")
            .args(["-c", "exit 0"])
            .spawn()
            .unwrap();
        let pid = child.id() as i64;
        // Not yet reaped: a zombie once it exits.
        std::thread::sleep(std::time::Duration::from_millis(200));
        assert!(!pid_alive(pid));
        child.wait().unwrap();
    }
}
