use clap::Parser;

// jemalloc rather than glibc's malloc: `check` builds and drops a JSON tree per object on every core, and
// glibc's allocator showed in its profile. (mimalloc was as fast but doubled the peak RSS: bench/README.md.)
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

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
