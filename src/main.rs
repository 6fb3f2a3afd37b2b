//! Entry point: everything lives in the library; this maps the outcome to an exit code.

fn main() -> std::process::ExitCode {
    match docker_credential_northflank::run(std::env::args_os().collect()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(failure) => {
            failure.report();
            std::process::ExitCode::from(failure.error.exit_code())
        }
    }
}
