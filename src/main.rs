//! The `legendary` binary: a thin shell over the library.
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    legendary::main()
}
