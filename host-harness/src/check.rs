//! The CI check: every object of every input through the policy, in parallel, results in input order.
//!
//! Work is cut into document chunks (see [`manifest::chunks_of`]) across all files, and each chunk
//! is parsed, turned into admission requests and evaluated in one rayon task, so parsing and evaluation
//! share all cores and an object's JSON lives only while it is evaluated: memory stays near the size of
//! the input texts, which are read in batches of at most [`BATCH_BYTES`].

use std::fmt::Write as _;
use std::sync::Arc;

use rayon::prelude::*;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::host::PolicyHost;
use crate::manifest::{
    self, Chunk, Document, InputError, InputPath, Limits, ManifestFile, ManifestObject, YamlError,
};
use crate::metadata::{Metadata, RequestTarget};
use crate::place::ObjectPlace;
use crate::registry::DigestSource;
use crate::report::{CheckReport, FileReport, ObjectReport, Outcome};
use crate::verify::verify_request;

/// Input text read before its objects are checked: beyond a few files' worth, reading more only costs memory.
pub const BATCH_BYTES: usize = 64 * 1024 * 1024;

/// What `check` evaluates with, besides the policy.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// The policy's settings (already validated by the policy).
    pub settings: Value,
    /// With metadata, only the objects its rules match are evaluated; the others are skipped.
    pub metadata: Option<Metadata>,
    pub limits: Limits,
    /// `--verify-registry`: ask this source whether each pinned image's digest exists (see [`crate::verify`]).
    pub verify: Option<Arc<dyn DigestSource>>,
}

/// Checks every input, in order.
pub fn check(
    inputs: Vec<Result<InputPath, InputError>>,
    policy: &PolicyHost,
    options: &CheckOptions,
) -> CheckReport {
    let mut files = Vec::with_capacity(inputs.len());
    let mut batch: Vec<Result<ManifestFile, InputError>> = Vec::new();
    let mut batch_bytes = 0;
    for input in inputs {
        let read = input.and_then(|path| manifest::read_input(&path));
        batch_bytes += read.as_ref().map_or(0, |file| file.text.len());
        batch.push(read);
        if batch_bytes >= BATCH_BYTES {
            files.extend(check_batch(std::mem::take(&mut batch), policy, options));
            batch_bytes = 0;
        }
    }
    files.extend(check_batch(batch, policy, options));
    CheckReport::new(files)
}

/// Checks already-read files (for callers that have the text in memory).
pub fn check_files(
    files: Vec<ManifestFile>,
    policy: &PolicyHost,
    options: &CheckOptions,
) -> CheckReport {
    CheckReport::new(check_batch(
        files.into_iter().map(Ok).collect(),
        policy,
        options,
    ))
}

fn check_batch(
    batch: Vec<Result<ManifestFile, InputError>>,
    policy: &PolicyHost,
    options: &CheckOptions,
) -> Vec<FileReport> {
    // Every chunk of every readable file, as one parallel work list.
    let chunks: Vec<Vec<Chunk>> = batch
        .iter()
        .map(|file| {
            file.as_ref().map_or_else(
                |_| Vec::new(),
                |file| manifest::chunks_of(file, options.limits),
            )
        })
        .collect();
    let work: Vec<(&ManifestFile, &Chunk)> = batch
        .iter()
        .zip(&chunks)
        .filter_map(|(file, chunks)| file.as_ref().ok().map(|file| (file, chunks)))
        .flat_map(|(file, chunks)| chunks.iter().map(move |chunk| (file, chunk)))
        .collect();
    let mut outcomes = work
        .par_iter()
        .with_max_len(1)
        .map(|(file, chunk)| check_chunk(file, chunk, policy, options))
        .collect::<Vec<_>>()
        .into_iter();
    drop(work);

    // Each file's outcomes, its text dropped once they are complete: the reports are then put together in the memory
    // the texts held, rather than beside them (a big input's reports are a good part of its size).
    let mut judged = Vec::with_capacity(batch.len());
    for (file, chunks) in batch.into_iter().zip(&chunks) {
        let file = match file {
            Err(error) => {
                judged.push(Err(error));
                continue;
            }
            Ok(file) => file,
        };
        let file_outcomes = outcomes.by_ref().take(chunks.len()).collect();
        let file_outcomes = manifest::reread_broken_lists(chunks, file_outcomes, |list| {
            check_chunk(&file, list, policy, options)
        });
        let mut error = None;
        let mut chunk_objects = Vec::with_capacity(file_outcomes.len());
        for outcome in file_outcomes {
            match outcome {
                Ok(objects) => chunk_objects.push(objects),
                Err(yaml_error) => {
                    error.get_or_insert_with(|| manifest::file_error(&file, yaml_error));
                }
            }
        }
        if error.is_some() {
            // A file that is not valid YAML as a whole is reported as such; its valid documents are not
            // judged one by one, as kubectl would not apply the file either.
            chunk_objects.clear();
        }
        judged.push(Ok((file.name, error, chunk_objects)));
    }
    drop(chunks);
    judged
        .into_iter()
        .map(|judged| match judged {
            Err(error) => FileReport {
                file: error.file.clone(),
                error: Some(error),
                objects: Vec::new(),
            },
            Ok((file, error, chunk_objects)) => {
                let mut objects = Vec::with_capacity(chunk_objects.iter().map(Vec::len).sum());
                for chunk in chunk_objects {
                    objects.extend(chunk);
                }
                FileReport {
                    file,
                    error,
                    objects,
                }
            }
        })
        .collect()
}

fn check_chunk(
    file: &ManifestFile,
    chunk: &Chunk,
    policy: &PolicyHost,
    options: &CheckOptions,
) -> Result<Vec<ObjectReport>, YamlError> {
    let documents = manifest::parse_chunk(file, chunk, options.limits)?;
    let mut reports = Vec::new();
    for mut document in documents {
        let objects = manifest::objects_of(&mut document);
        let document = &document;
        let judge = |object: Result<ManifestObject, manifest::ObjectError>| match object {
            Ok(object) => check_object(file, document, object, policy, options),
            // No API server accepts such a document (no apiVersion or kind, not a mapping), so
            // it cannot bring an image into a cluster: skipped, like a settings or values file
            // lying beside the manifests, with the reason shown.
            Err(error) => ObjectReport {
                line: error.line,
                api_version: None,
                kind: None,
                namespace: None,
                name: None,
                outcome: Outcome::Skipped {
                    reason: error.message,
                },
            },
        };
        // Reports live until the end of the run, so they are kept in Vecs of their exact size: a document of one
        // object (the usual) is judged here, not through rayon, whose collect reserves room for four.
        if objects.len() > 1 {
            reports.par_extend(objects.into_par_iter().map(judge));
        } else {
            reports.extend(objects.into_iter().map(judge));
        }
    }
    reports.shrink_to_fit();
    Ok(reports)
}

fn check_object(
    file: &ManifestFile,
    document: &Document,
    object: ManifestObject,
    policy: &PolicyHost,
    options: &CheckOptions,
) -> ObjectReport {
    let identity = &object.identity;
    let target = RequestTarget {
        group: &identity.group,
        version: &identity.version,
        resource: &identity.resource,
        subresource: "",
        operation: "CREATE",
    };
    let outcome = if options
        .metadata
        .as_ref()
        .is_some_and(|metadata| !metadata.matches(&target))
    {
        let group = if identity.group.is_empty() {
            "core"
        } else {
            &identity.group
        };
        Outcome::Skipped {
            reason: format!(
                "the policy's rules do not cover CREATE of {group}/{} {}",
                identity.version, identity.resource
            ),
        }
    } else {
        let uid = request_uid(&file.name, &object.pointer, object.line);
        let request = manifest::admission_request(object.value, identity, &uid);
        let place = ObjectPlace {
            document,
            pointer: &object.pointer,
            scalars: object.scalars.clone(),
            line: object.line,
            object: &request["object"],
        };
        let outcome = match policy.validate(&request, &options.settings) {
            Ok(response) if response.accepted => Outcome::Accepted {
                warnings: response.warnings.unwrap_or_default(),
                mutated: response.mutated_object.is_some(),
            },
            Ok(response) => {
                let message = response
                    .message
                    .unwrap_or_else(|| "rejected (the policy gave no message)".to_owned());
                Outcome::Rejected {
                    violations: place.violations(&message),
                    message,
                    warnings: response.warnings.unwrap_or_default(),
                }
            }
            Err(error) => Outcome::Error {
                message: error.to_string(),
            },
        };
        match &options.verify {
            Some(source) => {
                with_registry_findings(outcome, &identity.kind, &request, source, &place)
            }
            None => outcome,
        }
    };
    ObjectReport {
        line: object.line,
        api_version: Some(identity.api_version.clone()),
        kind: Some(identity.kind.clone()),
        namespace: identity.namespace.clone(),
        name: identity.name.clone(),
        outcome,
    }
}

/// The policy's verdict with what `--verify-registry` found added: a digest its registry does not serve rejects the
/// object, a moved tag warns, and a registry that cannot be asked makes the object an error (nothing is known).
fn with_registry_findings(
    outcome: Outcome,
    kind: &str,
    request: &Value,
    source: &Arc<dyn DigestSource>,
    place: &ObjectPlace,
) -> Outcome {
    if !matches!(outcome, Outcome::Accepted { .. } | Outcome::Rejected { .. }) {
        return outcome;
    }
    let findings = verify_request(kind, request, source.as_ref());
    if !findings.errors.is_empty() {
        return Outcome::Error {
            message: format!(
                "cannot verify against the registry: {}",
                findings.errors.join("; ")
            ),
        };
    }
    let (mut message, mut violations, mut warnings) = match outcome {
        Outcome::Rejected {
            message,
            violations,
            warnings,
        } => (message, violations, warnings),
        Outcome::Accepted {
            mut warnings,
            mutated,
        } if findings.violations.is_empty() => {
            warnings.extend(findings.warnings);
            return Outcome::Accepted { warnings, mutated };
        }
        Outcome::Accepted { warnings, .. } => (String::new(), Vec::new(), warnings),
        other => return other,
    };
    warnings.extend(findings.warnings);
    if !findings.violations.is_empty() {
        let added = findings.violations.join("\n");
        violations.extend(place.violations(&added));
        message = if message.is_empty() {
            added
        } else {
            format!("{message}\n{added}")
        };
    }
    Outcome::Rejected {
        message,
        violations,
        warnings,
    }
}

/// A stable request uid (UUID-shaped), so reruns print the same output.
fn request_uid(file: &str, pointer: &str, line: usize) -> String {
    let hash = Sha256::new()
        .chain_update(file)
        .chain_update([0])
        .chain_update(pointer)
        .chain_update(line.to_le_bytes())
        .finalize();
    let hex = hash
        .iter()
        .take(16)
        .fold(String::with_capacity(32), |mut out, byte| {
            let _ = write!(out, "{byte:02x}");
            out
        });
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_uids_are_stable_and_uuid_shaped() {
        let uid = request_uid("a.yaml", "", 3);
        assert_eq!(uid, request_uid("a.yaml", "", 3));
        assert_ne!(uid, request_uid("a.yaml", "/items/0", 3));
        assert_eq!(uid.len(), 36);
        assert_eq!(uid.matches('-').count(), 4);
    }
}
