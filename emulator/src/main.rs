//! The `vpcgate` binary: everything is in the library's [`vpcgate::cli`].

/// mimalloc instead of glibc's malloc: under steady load glibc's per-thread arenas fragment and
/// the resident set creeps up; mimalloc returns freed pages (scripts/soak.py measures it). Built
/// with `no_thp`: with transparent huge pages its first arena was faulted in as 2 MiB pages, 10 MiB
/// of idle RSS for nothing (scripts/bench.sh: 26.5 -> 16.4 MiB idle).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    vpcgate::cli::on_ready(release_start_pages);
    vpcgate::cli::run(std::env::args_os())
}

/// Drops this process's mappings of the executable's pages that only the start touched.
///
/// Idle `serve` was 17.9 MiB resident, of which 13.4 MiB were the `vpcgate` executable's own
/// read-only pages: loading templates, deploying stacks and building the world run code once
/// that is never run again, and the kernel maps file pages 64 KiB around each fault. Those pages
/// are clean copies of the file (the page cache keeps them): `MADV_DONTNEED` unmaps them from this
/// process, and whatever runs later faults its pages back in. Only mappings of the executable
/// that are not writable and hold no private (copied-on-write) page are touched, so no data and
/// no relocated page is ever dropped.
///
/// It runs on its own thread as `serve` starts answering, at the lowest scheduling priority
/// (nice 19, this thread only): on a machine with few cores, the first requests run before it.
#[cfg(target_os = "linux")]
fn release_start_pages() {
    // SAFETY: gettid has no preconditions; setpriority on this thread's id changes only this
    // thread's nice value (Linux keeps one per thread).
    unsafe {
        let tid = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, 19);
    }
    let Ok(exe) = std::fs::read_link("/proc/self/exe") else {
        return;
    };
    let Ok(smaps) = std::fs::read_to_string("/proc/self/smaps") else {
        return;
    };
    let exe = exe.to_string_lossy();
    let mut current: Option<(usize, usize)> = None;
    let mut ranges = Vec::new();
    for line in smaps.lines() {
        let mut fields = line.split_whitespace();
        let Some(first) = fields.next() else { continue };
        if let Some((lo, hi)) = first.split_once('-')
            && let (Ok(lo), Ok(hi)) = (usize::from_str_radix(lo, 16), usize::from_str_radix(hi, 16))
        {
            // A mapping's header: range, permissions, offset, device, inode, path.
            let perms = fields.next().unwrap_or("");
            let path = fields.nth(3).unwrap_or("");
            current =
                (path == exe && perms.starts_with('r') && !perms.contains('w')).then_some((lo, hi));
        } else if first == "Anonymous:"
            && let Some(range) = current.take()
            && fields.next() == Some("0")
        {
            ranges.push(range);
        }
    }
    for (lo, hi) in ranges {
        // SAFETY: [lo, hi) is a whole read-only, file-backed mapping of the executable with no
        // private page: MADV_DONTNEED only unmaps clean copies of the file, which fault back in
        // unchanged when touched again.
        unsafe {
            libc::madvise(lo as *mut libc::c_void, hi - lo, libc::MADV_DONTNEED);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn release_start_pages() {}
