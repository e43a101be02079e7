//! The `vpcgate` binary: everything is in the library's [`vpcgate::cli`].

/// mimalloc instead of glibc's malloc: under steady load glibc's per-thread arenas fragment and
/// the resident set creeps up; mimalloc returns freed pages (scripts/soak.py measures it).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    vpcgate::cli::run(std::env::args_os())
}
