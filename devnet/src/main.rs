//! `devnet`: the whole Tessera network on this machine (see the `devnet` library).

fn main() -> std::process::ExitCode {
    devnet::cli::main()
}
