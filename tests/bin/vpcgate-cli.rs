//! The `vpcgate` command line, built with the test package so integration tests can run it as
//! a process (`CARGO_BIN_EXE_vpcgate-cli`; the `vpcgate` package's own binary is not built for
//! another package's tests). Same `main` as `emulator/src/main.rs`.

fn main() -> std::process::ExitCode {
    vpcgate::cli::run(std::env::args_os())
}
