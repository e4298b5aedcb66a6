//! The SARIF 2.1.0 format (with `serde-sarif`, whose types are generated from the SARIF schema): one
//! result per violation (rule `rejected`) and per input or evaluation error (rule `error`), each at its
//! file and line. Accepted and skipped objects are not findings, so they produce no result.

use std::io::{self, Write};

use serde_sarif::sarif::{
    ArtifactLocation, Location, Message, MultiformatMessageString, PhysicalLocation, Region,
    ReportingDescriptor, Result as SarifResult, ResultLevel, Run, Sarif, Tool, ToolComponent,
};

use super::{CheckReport, Outcome};

const REJECTED: &str = "rejected";
const ERROR: &str = "error";

pub fn write(report: &CheckReport, out: &mut dyn Write) -> io::Result<()> {
    let mut results = Vec::new();
    for file in &report.files {
        if let Some(error) = &file.error {
            results.push(result(
                ERROR,
                &file.file,
                error.line.unwrap_or(1),
                error.column,
                &error.message,
            ));
        }
        for object in &file.objects {
            match &object.outcome {
                Outcome::Rejected { violations, .. } => {
                    for violation in violations {
                        results.push(result(
                            REJECTED,
                            &file.file,
                            violation.line,
                            None,
                            &violation.message,
                        ));
                    }
                }
                Outcome::Error { message } => {
                    let text = format!("{}: {message}", object.describe());
                    results.push(result(ERROR, &file.file, object.line, None, &text));
                }
                Outcome::Accepted { .. } | Outcome::Skipped { .. } => {}
            }
        }
    }
    let rules = vec![
        rule(REJECTED, "The policy rejected the object"),
        rule(
            ERROR,
            "The input could not be read or parsed, or the policy gave no verdict",
        ),
    ];
    let driver = ToolComponent::builder()
        .name("host-harness")
        .version(env!("CARGO_PKG_VERSION"))
        .information_uri(env!("CARGO_PKG_REPOSITORY"))
        .rules(rules)
        .build();
    let run = Run::builder()
        .tool(Tool::builder().driver(driver).build())
        .results(results)
        .build();
    let sarif = Sarif::builder()
        .version(serde_json::Value::String("2.1.0".to_owned()))
        .schema(serde_sarif::sarif::SCHEMA_URL)
        .runs(vec![run])
        .build();
    serde_json::to_writer_pretty(&mut *out, &sarif)?;
    writeln!(out)
}

fn rule(id: &str, description: &str) -> ReportingDescriptor {
    ReportingDescriptor::builder()
        .id(id)
        .short_description(
            MultiformatMessageString::builder()
                .text(description)
                .build(),
        )
        .build()
}

fn result(
    rule_id: &str,
    file: &str,
    line: usize,
    column: Option<usize>,
    text: &str,
) -> SarifResult {
    let region = match column {
        Some(column) => Region::builder()
            .start_line(line as i64)
            .start_column(column as i64)
            .build(),
        None => Region::builder().start_line(line as i64).build(),
    };
    let location = PhysicalLocation::builder()
        .artifact_location(ArtifactLocation::builder().uri(file).build())
        .region(region)
        .build();
    SarifResult::builder()
        .rule_id(rule_id)
        .level(ResultLevel::Error)
        .message(Message::builder().text(text).build())
        .locations(vec![
            Location::builder().physical_location(location).build(),
        ])
        .build()
}
