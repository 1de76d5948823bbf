//! The `chatferry` binary; everything it does is in the library (lib.rs).

fn main() -> std::process::ExitCode {
    chatferry_cli::main()
}
