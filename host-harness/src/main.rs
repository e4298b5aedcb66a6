use clap::Parser;

mod cli;
mod commands;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    match commands::dispatch(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            // 2: the tool could not do its job (bad input, evaluation error), as opposed to 1: a rejection.
            std::process::ExitCode::from(2)
        }
    }
}
