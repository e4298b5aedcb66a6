use clap::Parser;

// jemalloc rather than glibc's malloc: `check` builds and drops a JSON tree per object on every core, and
// glibc's allocator showed in its profile. (mimalloc was as fast but doubled the peak RSS: bench/README.md.)
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

mod cli;
mod commands;

fn main() -> std::process::ExitCode {
    let cli = commands::Cli::parse();
    match commands::dispatch(cli) {
        Ok(code) => code,
        // The reader of our output went away (`… | head`): nothing is wrong with the run, and saying so would only
        // clutter the terminal, so exit quietly, as ripgrep does. (`check` handles this itself, keeping its verdict.)
        Err(error) if is_broken_pipe(&error) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            // 2: the tool could not do its job (bad input, evaluation error), as opposed to 1: a rejection.
            std::process::ExitCode::from(2)
        }
    }
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
