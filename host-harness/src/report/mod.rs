//! What `check` found, and the formats it is written in.
//!
//! [`CheckReport`] is the one result of a check; [`OutputFormat`] picks a writer: `text` for people
//! (grouped by file, `file:line` of every rejected object and violation), `json` (this module's types
//! serialized), `junit` (one test suite per file, one test case per object), `sarif` (one result per
//! violation or error, for code-scanning dashboards) and `github` (workflow-command annotations).

mod github;
mod json;
mod junit;
mod sarif;
mod text;

use std::io::{self, Write};

use serde::Serialize;

use crate::manifest::InputError;

/// The outcome of checking every input.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CheckReport {
    /// Inputs in command-line order (directories expanded, sorted).
    pub files: Vec<FileReport>,
    pub summary: Summary,
}

/// One input file: either read and parsed, with its objects, or an error.
#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    pub file: String,
    /// Why the file could not be checked (unreadable, not text, invalid YAML); then it has no objects.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<InputError>,
    pub objects: Vec<ObjectReport>,
}

/// One object (a document, or an item of a List).
#[derive(Debug, Clone, Serialize)]
pub struct ObjectReport {
    /// 1-based line of the object in its file.
    pub line: usize,
    /// Absent when the document is not a Kubernetes object.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(flatten)]
    pub outcome: Outcome,
}

impl ObjectReport {
    /// `Deployment shop/web`, `Namespace team`, or `document` when it is no object.
    pub fn describe(&self) -> String {
        let Some(kind) = &self.kind else {
            return "document".to_owned();
        };
        match (&self.namespace, &self.name) {
            (Some(namespace), Some(name)) => format!("{kind} {namespace}/{name}"),
            (None, Some(name)) => format!("{kind} {name}"),
            _ => kind.clone(),
        }
    }
}

/// The policy's verdict on an object, or why there is none.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "verdict", rename_all = "lowercase")]
pub enum Outcome {
    Accepted {
        #[serde(skip_serializing_if = "Vec::is_empty")]
        warnings: Vec<String>,
        /// The policy accepted the object by changing it (a mutating policy).
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        mutated: bool,
    },
    Rejected {
        /// The policy's message, as it gave it.
        message: String,
        /// The message line by line, each placed at the line it is about.
        violations: Vec<Violation>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        warnings: Vec<String>,
    },
    /// Not evaluated: the policy's metadata rules do not cover this kind.
    Skipped { reason: String },
    /// No verdict: the document is not an object, or the evaluation failed.
    Error { message: String },
}

/// One line of a rejection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// 1-based line in the file: the image's line when the message names one, else the object's.
    pub line: usize,
    pub message: String,
}

/// Counts over all objects. Every file that could not be checked counts as one error.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// accepted + rejected + skipped + errors.
    pub checked: usize,
    pub accepted: usize,
    pub rejected: usize,
    pub skipped: usize,
    pub errors: usize,
}

impl Summary {
    pub fn of(files: &[FileReport]) -> Summary {
        let mut summary = Summary::default();
        for file in files {
            if file.error.is_some() {
                summary.errors += 1;
            }
            for object in &file.objects {
                match object.outcome {
                    Outcome::Accepted { .. } => summary.accepted += 1,
                    Outcome::Rejected { .. } => summary.rejected += 1,
                    Outcome::Skipped { .. } => summary.skipped += 1,
                    Outcome::Error { .. } => summary.errors += 1,
                }
            }
        }
        summary.checked = summary.accepted + summary.rejected + summary.skipped + summary.errors;
        summary
    }

    /// `check`'s exit status: 2 on any error, else 1 on any rejection, else 0.
    pub fn exit_code(&self) -> u8 {
        if self.errors > 0 {
            2
        } else if self.rejected > 0 {
            1
        } else {
            0
        }
    }

    /// `checked N objects: A accepted, R rejected, S skipped, E errors`
    pub fn line(&self) -> String {
        format!(
            "checked {} objects: {} accepted, {} rejected, {} skipped, {} errors",
            self.checked, self.accepted, self.rejected, self.skipped, self.errors
        )
    }
}

impl CheckReport {
    pub fn new(files: Vec<FileReport>) -> CheckReport {
        let summary = Summary::of(&files);
        CheckReport { files, summary }
    }
}

/// `--output`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum OutputFormat {
    /// For people: grouped by file, with file:line of every rejection and violation.
    #[default]
    Text,
    /// The whole report as one JSON document.
    Json,
    /// JUnit XML: a test suite per file, a test case per object.
    Junit,
    /// SARIF 2.1.0: a result per violation and per error.
    Sarif,
    /// GitHub Actions annotations (`::error file=…,line=…::…`).
    Github,
}

/// How the text format looks.
#[derive(Debug, Clone, Copy, Default)]
pub struct TextStyle {
    /// ANSI colours (only on a terminal, and not under NO_COLOR: the caller decides).
    pub color: bool,
    /// Leave out accepted and skipped objects.
    pub quiet: bool,
}

/// Writes `report` in `format`.
pub fn write_report(
    report: &CheckReport,
    format: OutputFormat,
    style: TextStyle,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        OutputFormat::Text => text::write(report, style, out),
        OutputFormat::Json => json::write(report, out),
        OutputFormat::Junit => junit::write(report, out),
        OutputFormat::Sarif => sarif::write(report, out),
        OutputFormat::Github => github::write(report, out),
    }
}
