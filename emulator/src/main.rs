//! The `vpcgate` binary: everything is in the library's [`vpcgate::cli`].

fn main() -> std::process::ExitCode {
    vpcgate::cli::run(std::env::args_os())
}
