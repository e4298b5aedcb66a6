//! The JUnit XML format (with `quick-junit`): a test suite per file, a test case per object.
//! Rejections are failures, evaluation and input errors are errors, skipped objects are skipped.

use std::io::{self, Write};

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::{CheckReport, Outcome};

pub fn write(report: &CheckReport, out: &mut dyn Write) -> io::Result<()> {
    let mut junit = Report::new("host-harness check");
    for file in &report.files {
        let mut suite = TestSuite::new(file.file.as_str());
        if let Some(error) = &file.error {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
            status
                .set_message(error.message.as_str())
                .set_type("input error")
                .set_description(error.to_string());
            let mut case = TestCase::new(file.file.as_str(), status);
            case.set_classname(file.file.as_str());
            suite.add_test_case(case);
        }
        for object in &file.objects {
            let at = format!("{}:{}", file.file, object.line);
            let status = match &object.outcome {
                Outcome::Accepted { .. } => TestCaseStatus::success(),
                Outcome::Rejected {
                    message,
                    violations,
                    ..
                } => {
                    let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    let located: Vec<String> = violations
                        .iter()
                        .map(|v| format!("{}:{}: {}", file.file, v.line, v.message))
                        .collect();
                    status
                        .set_message(message.as_str())
                        .set_type("rejected")
                        .set_description(located.join("\n"));
                    status
                }
                Outcome::Skipped { reason } => {
                    let mut status = TestCaseStatus::skipped();
                    status.set_message(reason.as_str());
                    status
                }
                Outcome::Error { message } => {
                    let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
                    status
                        .set_message(message.as_str())
                        .set_type("error")
                        .set_description(format!("{at}: {message}"));
                    status
                }
            };
            let mut case = TestCase::new(format!("{} ({at})", object.describe()), status);
            case.set_classname(file.file.as_str());
            suite.add_test_case(case);
        }
        junit.add_test_suite(suite);
    }
    junit.serialize(&mut *out).map_err(io::Error::other)?;
    writeln!(out)
}
