//! The text format: one block per file, one line per object with its `file:line`, the violations of a
//! rejected object indented below it at their own `file:line`, then the summary line.

use std::io::{self, Write};

use anstyle::{AnsiColor, Style};

use super::{CheckReport, Outcome, TextStyle};

struct Palette {
    file: Style,
    accepted: Style,
    rejected: Style,
    skipped: Style,
    error: Style,
    dim: Style,
}

impl Palette {
    fn new(color: bool) -> Palette {
        if !color {
            let plain = Style::new();
            return Palette {
                file: plain,
                accepted: plain,
                rejected: plain,
                skipped: plain,
                error: plain,
                dim: plain,
            };
        }
        let fg = |color: AnsiColor| Style::new().fg_color(Some(color.into()));
        Palette {
            file: Style::new().bold(),
            accepted: fg(AnsiColor::Green),
            rejected: fg(AnsiColor::Red).bold(),
            skipped: fg(AnsiColor::Yellow),
            error: fg(AnsiColor::Magenta).bold(),
            dim: Style::new().dimmed(),
        }
    }
}

pub fn write(report: &CheckReport, style: TextStyle, out: &mut dyn Write) -> io::Result<()> {
    let palette = Palette::new(style.color);
    for file in &report.files {
        let shown: Vec<_> = file
            .objects
            .iter()
            .filter(|object| {
                !style.quiet
                    || matches!(
                        object.outcome,
                        Outcome::Rejected { .. } | Outcome::Error { .. }
                    )
            })
            .collect();
        if file.error.is_none() && shown.is_empty() && (style.quiet || !file.objects.is_empty()) {
            continue;
        }
        let p = &palette;
        writeln!(out, "{}{}{}", p.file, file.file, p.file.render_reset())?;
        if let Some(error) = &file.error {
            writeln!(
                out,
                "  {}error{}    {error}",
                p.error,
                p.error.render_reset()
            )?;
        }
        if file.error.is_none() && file.objects.is_empty() {
            writeln!(out, "  {}no objects{}", p.dim, p.dim.render_reset())?;
        }
        for object in shown {
            let at = format!("{}:{}", file.file, object.line);
            let what = object.describe();
            match &object.outcome {
                Outcome::Accepted { warnings, mutated } => {
                    let note = if *mutated {
                        " (mutated by the policy)"
                    } else {
                        ""
                    };
                    writeln!(
                        out,
                        "  {}accepted{} {at}: {what}{note}",
                        p.accepted,
                        p.accepted.render_reset()
                    )?;
                    for warning in warnings {
                        writeln!(
                            out,
                            "           {}warning: {warning}{}",
                            p.dim,
                            p.dim.render_reset()
                        )?;
                    }
                }
                Outcome::Rejected {
                    violations,
                    warnings,
                    ..
                } => {
                    writeln!(
                        out,
                        "  {}rejected{} {at}: {what}",
                        p.rejected,
                        p.rejected.render_reset()
                    )?;
                    for violation in violations {
                        writeln!(
                            out,
                            "           {}:{}: {}",
                            file.file, violation.line, violation.message
                        )?;
                    }
                    for warning in warnings {
                        writeln!(
                            out,
                            "           {}warning: {warning}{}",
                            p.dim,
                            p.dim.render_reset()
                        )?;
                    }
                }
                Outcome::Skipped { reason } => {
                    writeln!(
                        out,
                        "  {}skipped{}  {at}: {what} {}({reason}){}",
                        p.skipped,
                        p.skipped.render_reset(),
                        p.dim,
                        p.dim.render_reset()
                    )?;
                }
                Outcome::Error { message } => {
                    writeln!(
                        out,
                        "  {}error{}    {at}: {what}: {message}",
                        p.error,
                        p.error.render_reset()
                    )?;
                }
            }
        }
    }
    let summary = &report.summary;
    let verdict = match summary.exit_code() {
        0 => palette.accepted,
        1 => palette.rejected,
        _ => palette.error,
    };
    writeln!(out, "{verdict}{}{}", summary.line(), verdict.render_reset())
}
