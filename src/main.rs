//! The `legendary` binary: a thin shell over the library.
#![forbid(unsafe_code)]

use clap::Parser as _;

fn main() -> std::process::ExitCode {
    legendary::run(legendary::cli::Cli::parse())
}
