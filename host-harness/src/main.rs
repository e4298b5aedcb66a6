use clap::Parser;

// jemalloc rather than glibc's malloc: `check` builds and drops a JSON tree per object on every core, and
// glibc's allocator was a tenth of its CPU. Measured on the 10 000-document corpus file (bench/compare.sh):
// 0.50 → 0.45 s wall, peak RSS 64 → 67 MB. (mimalloc was as fast but doubled the peak RSS.)
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
