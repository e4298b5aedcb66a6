//! The GitHub Actions format: a workflow command per finding, which GitHub shows as an annotation on
//! the file and line (`::error file=…,line=…,title=…::message`), warnings as `::warning`, then the
//! summary line. Values are escaped as the runner expects (`%`, CR, LF; and `:`/`,` in properties).

use std::io::{self, Write};

use super::{CheckReport, Outcome};

pub fn write(report: &CheckReport, out: &mut dyn Write) -> io::Result<()> {
    for file in &report.files {
        if let Some(error) = &file.error {
            annotation(
                out,
                "error",
                &file.file,
                error.line,
                "cannot check this file",
                &error.message,
            )?;
        }
        for object in &file.objects {
            let what = object.describe();
            match &object.outcome {
                Outcome::Rejected {
                    violations,
                    warnings,
                    ..
                } => {
                    let title = format!("{what} rejected");
                    for violation in violations {
                        annotation(
                            out,
                            "error",
                            &file.file,
                            Some(violation.line),
                            &title,
                            &violation.message,
                        )?;
                    }
                    for warning in warnings {
                        annotation(
                            out,
                            "warning",
                            &file.file,
                            Some(object.line),
                            &what,
                            warning,
                        )?;
                    }
                }
                Outcome::Error { message } => {
                    annotation(
                        out,
                        "error",
                        &file.file,
                        Some(object.line),
                        &format!("{what}: no verdict"),
                        message,
                    )?;
                }
                Outcome::Accepted { warnings, .. } => {
                    for warning in warnings {
                        annotation(
                            out,
                            "warning",
                            &file.file,
                            Some(object.line),
                            &what,
                            warning,
                        )?;
                    }
                }
                Outcome::Skipped { .. } => {}
            }
        }
    }
    writeln!(out, "{}", report.summary.line())
}

fn annotation(
    out: &mut dyn Write,
    level: &str,
    file: &str,
    line: Option<usize>,
    title: &str,
    message: &str,
) -> io::Result<()> {
    write!(out, "::{level} file={}", escape_property(file))?;
    if let Some(line) = line {
        write!(out, ",line={line}")?;
    }
    writeln!(
        out,
        ",title={}::{}",
        escape_property(title),
        escape_data(message)
    )
}

fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_command_values_are_escaped() {
        assert_eq!(escape_data("100% sure\nnext"), "100%25 sure%0Anext");
        assert_eq!(escape_property("a:b,c"), "a%3Ab%2Cc");
    }
}
