//! Entry point: everything lives in the library, which answers with the exit code.

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(docker_credential_northflank::main())
}
