//! The JSON format: the report's own types, serialized (see `CheckReport`).

use std::io::{self, Write};

use super::CheckReport;

pub fn write(report: &CheckReport, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report)?;
    writeln!(out)
}
