//! The `vpcgate` binary: everything is in the library's [`vpcgate::cli`].

/// mimalloc instead of glibc's malloc: under steady load glibc's per-thread arenas fragment and
/// the resident set creeps up; mimalloc returns freed pages (scripts/soak.py measures it). Built
/// with `no_thp`: with transparent huge pages its first arena was faulted in as 2 MiB pages, 10 MiB
/// of idle RSS for nothing (scripts/bench.sh: 26.5 -> 16.4 MiB idle).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    vpcgate::cli::run(std::env::args_os())
}
