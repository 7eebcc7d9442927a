//! Where and how urgently a thread runs: CPU pinning for capture threads, nice values for
//! the work that must yield to capture (the recorder's indexer). One place for the recorder,
//! the DPDK cores and replay.
//!
//! These are thin wrappers over `sched_setaffinity(2)` and `setpriority(2)`; on Linux both
//! act on the calling thread, and threads it creates inherit them.

#![allow(unsafe_code)]

use std::io;
use std::mem::size_of;

use crate::source::SourceError;

/// Sets the calling thread's nice value to `nice` (`setpriority(PRIO_PROCESS, 0, nice)`;
/// on Linux the nice value belongs to the thread, and threads it creates inherit it). The
/// recorder runs its indexer so, below the capture threads: when the two compete for CPU,
/// the scheduler gives capture the larger share and indexing falls behind instead. Raising
/// the value needs no privilege.
pub fn set_current_thread_nice(nice: i32) -> Result<(), SourceError> {
    // SAFETY: setpriority takes plain integers; who = 0 names the calling thread.
    let rc = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, nice) };
    if rc != 0 {
        return Err(SourceError::Os {
            source_name: "recorder".to_owned(),
            what: format!("setpriority(nice {nice})"),
            err: io::Error::last_os_error(),
        });
    }
    Ok(())
}

/// The calling thread's nice value (`getpriority`), or `None` if it cannot be read.
pub fn current_thread_nice() -> Option<i32> {
    // SAFETY: getpriority takes plain integers. It may legitimately return -1, so errno is
    // cleared first and checked after.
    unsafe {
        *libc::__errno_location() = 0;
        let v = libc::getpriority(libc::PRIO_PROCESS, 0);
        (*libc::__errno_location() == 0).then_some(v)
    }
}

/// Pins the calling thread to CPU `cpu` (`sched_setaffinity`), for capture threads.
pub fn pin_current_thread(cpu: usize) -> Result<(), SourceError> {
    if cpu >= libc::CPU_SETSIZE as usize {
        return Err(SourceError::Config(format!(
            "cpu {cpu}: above the largest CPU number ({})",
            libc::CPU_SETSIZE - 1
        )));
    }
    // SAFETY: cpu_set_t is a bit array; all-zero is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: cpu < CPU_SETSIZE, checked above, so the bit is inside the set.
    unsafe { libc::CPU_SET(cpu, &mut set) };
    // SAFETY: set is a valid cpu_set_t of the size passed; pid 0 is the calling thread.
    let rc = unsafe { libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &set) };
    if rc != 0 {
        let err = io::Error::last_os_error();
        let what = if err.raw_os_error() == Some(libc::EINVAL) {
            format!(
                "sched_setaffinity(cpu {cpu}): the CPU is offline or outside this process's cpuset"
            )
        } else {
            format!("sched_setaffinity(cpu {cpu})")
        };
        return Err(SourceError::Os {
            source_name: "cpu".to_owned(),
            what,
            err,
        });
    }
    Ok(())
}

/// A thread's CPU set, kept to give back: the threads a pinned thread starts inherit its
/// pin, so a capture thread starts its writer's helper threads (compression, segment, sync)
/// with the set it had before it was pinned ([`with_affinity`]), or they would all share
/// the capture core.
#[derive(Clone, Copy)]
pub struct Affinity(libc::cpu_set_t);

impl std::fmt::Debug for Affinity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let cpus: Vec<usize> = (0..libc::CPU_SETSIZE as usize)
            // SAFETY: i < CPU_SETSIZE: the bit is inside the set.
            .filter(|&i| unsafe { libc::CPU_ISSET(i, &self.0) })
            .collect();
        write!(f, "Affinity({cpus:?})")
    }
}

/// The calling thread's CPU set, or `None` if it cannot be read.
pub fn current_affinity() -> Option<Affinity> {
    // SAFETY: cpu_set_t is a bit array; all-zero is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: set is a writable cpu_set_t of the size passed; pid 0 is the calling thread.
    let rc = unsafe { libc::sched_getaffinity(0, size_of::<libc::cpu_set_t>(), &mut set) };
    (rc == 0).then_some(Affinity(set))
}

fn set_affinity(a: &Affinity) -> io::Result<()> {
    // SAFETY: a.0 is a valid cpu_set_t of the size passed; pid 0 is the calling thread.
    let rc = unsafe { libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &a.0) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Runs `f` with the calling thread's CPU set changed to `a` (so that threads `f` starts
/// inherit `a`), then puts the thread's own set back.
pub fn with_affinity<R>(a: &Affinity, f: impl FnOnce() -> R) -> R {
    let own = current_affinity();
    let changed = set_affinity(a).is_ok();
    let r = f();
    if let (true, Some(own)) = (changed, own) {
        let _ = set_affinity(&own);
    }
    r
}

/// Puts the calling thread in `SCHED_IDLE`: it runs only when its CPU has nothing else to
/// run, and never preempts another thread (replay's reader, sharing a core with the sender).
/// Needs no privilege; false if the kernel refused.
pub fn set_current_thread_idle() -> bool {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: param is a valid sched_param; pid 0 is the calling thread.
    unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) == 0 }
}

/// Raises the calling thread's nice value by `by` (at most to 19): it and the threads it
/// starts then yield the CPU to threads at the default priority. Needs no privilege.
pub fn lower_priority(by: i32) -> Result<(), SourceError> {
    let now = current_thread_nice().unwrap_or(0);
    set_current_thread_nice((now + by).min(19))
}

/// The CPUs this process may run on (`std::thread::available_parallelism`), at least 1.
pub fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The core a capture thread should be pinned to, if any: capture threads take the first
/// cores, and the last core stays for the indexer and compression; on a machine of two or
/// fewer cores nothing is pinned (the threads need to move).
pub fn capture_core(thread: usize, cpus: usize) -> Option<usize> {
    (cpus > 2).then(|| thread % (cpus - 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capture_cores_leave_the_last_core_free() {
        assert_eq!(capture_core(0, 2), None);
        assert_eq!(capture_core(0, 4), Some(0));
        assert_eq!(capture_core(2, 4), Some(2));
        assert_eq!(capture_core(3, 4), Some(0));
    }

    #[test]
    fn nice_is_per_thread_and_inherited() {
        let before = current_thread_nice().expect("own nice value");
        let (mine, child) = std::thread::spawn(move || {
            let target = (before + 3).min(19);
            set_current_thread_nice(target).expect("raising nice needs no privilege");
            let child = std::thread::spawn(current_thread_nice).join().unwrap();
            (current_thread_nice(), child)
        })
        .join()
        .unwrap();
        let target = (before + 3).min(19);
        assert_eq!(mine, Some(target), "the thread that asked");
        assert_eq!(child, Some(target), "a thread it created inherits it");
        assert_eq!(
            current_thread_nice(),
            Some(before),
            "other threads keep theirs"
        );
    }
}
