//! Loading manifest trees: files, directories and stdin → YAML or JSON documents → Kubernetes objects →
//! CREATE admission requests.
//!
//! - [`inputs`]: which files a list of command-line paths means, and reading them (UTF-8, or UTF-16/32 by their
//!   byte-order mark; clear errors for binary, undecodable, unreadable and oversized files, and symlink loops).
//! - [`yaml`]: YAML text → `serde_json` values, with every scalar's position (line, column, byte span) and its
//!   place in the document (looked up by JSON pointer); documents split for parallel parsing.
//! - [`json`]: the same for files kubectl reads as JSON.
//! - [`objects`]: documents → objects (`kind: List` and `*List` wrappers unwrapped), each with the
//!   group/version/kind and the plural resource the API server would use ([`require_digest::admission`], which the
//!   browser build shares, names objects and builds their CREATE requests).

pub mod inputs;
pub mod json;
pub mod lists;
pub mod objects;
pub mod yaml;

pub use inputs::{Encoding, InputError, InputPath, ManifestFile, Syntax, expand_paths, read_input};
pub use objects::{ManifestObject, ObjectError, objects_of};
pub use require_digest::admission::ObjectIdentity;
pub use require_digest::resources::resource_for_kind;
pub use yaml::{Chunk, Document, Limits, PathId, ScalarPosition, Style, YamlError};

use std::sync::Arc;

use rayon::prelude::*;
use serde_json::Value;

/// The CREATE admission request the API server would send a webhook for `object`, as host-harness's user.
pub fn admission_request(object: Value, identity: &ObjectIdentity, uid: &str) -> Value {
    require_digest::admission::create_request(object, identity, uid, "host-harness")
}

/// The pieces of a file that can be parsed on their own, in parallel: a YAML file's documents (split at its
/// `---` lines); a JSON stream whole; the items of a big List, each on its own (see [`lists`]).
pub fn chunks_of(file: &ManifestFile, limits: Limits) -> Vec<Chunk> {
    match file.syntax {
        Syntax::Yaml => {
            let mut chunks = Vec::new();
            for document in yaml::split_documents(&file.text) {
                match lists::cut_yaml(&file.text, &document, limits) {
                    Some(items) => chunks.extend(items),
                    None => chunks.push(document),
                }
            }
            chunks
        }
        Syntax::Json => lists::cut_json(&file.text).unwrap_or_else(|| {
            vec![Chunk {
                range: 0..file.text.len(),
                first_line: 1,
                list_item: None,
            }]
        }),
    }
}

/// Parses one chunk of a file (from [`chunks_of`]); positions are the file's. A List item that does not read on
/// its own is an error here: [`reread_broken_lists`] then reads its List whole.
pub fn parse_chunk(
    file: &ManifestFile,
    chunk: &Chunk,
    limits: Limits,
) -> Result<Vec<Document>, YamlError> {
    if let Some(item) = &chunk.list_item {
        let is_json = file.syntax == Syntax::Json;
        return lists::parse_item(&file.text, chunk, item, is_json, limits).map(|item| vec![item]);
    }
    match file.syntax {
        Syntax::Yaml => yaml::parse_chunk(&file.text, chunk, limits),
        Syntax::Json => parse_json_stream(&file.text, limits),
    }
}

/// What was made of each chunk of a file (`outcomes`, one per chunk of `chunks`, in order), with the items of every
/// List that did not all read on their own replaced by what `read_whole` makes of the List's whole document (one
/// outcome for the List): what is read, or the error, is then exactly the whole read's.
pub fn reread_broken_lists<T>(
    chunks: &[Chunk],
    outcomes: Vec<Result<T, YamlError>>,
    read_whole: impl Fn(&Chunk) -> Result<T, YamlError>,
) -> Vec<Result<T, YamlError>> {
    let list_of = |chunk: &Chunk| chunk.list_item.as_ref().map(|item| Arc::clone(&item.list));
    let mut result = Vec::with_capacity(outcomes.len());
    let mut outcomes = chunks.iter().zip(outcomes).peekable();
    while let Some((chunk, outcome)) = outcomes.next() {
        let Some(list) = list_of(chunk) else {
            result.push(outcome);
            continue;
        };
        let mut items = vec![outcome];
        while let Some((_, outcome)) = outcomes
            .next_if(|(next, _)| list_of(next).is_some_and(|next| Arc::ptr_eq(&next, &list)))
        {
            items.push(outcome);
        }
        if items.iter().all(Result::is_ok) {
            result.extend(items);
        } else {
            drop(items);
            result.push(read_whole(&list.chunk));
        }
    }
    result
}

/// A stream that starts with `{`, as apimachinery's decoder reads it: JSON values; when the JSON breaks off before a
/// second value, the rest (from the line after the last good value) is read as YAML, and should that fail too on
/// its first document, the JSON error is the one reported.
fn parse_json_stream(text: &str, limits: Limits) -> Result<Vec<Document>, YamlError> {
    let broken = match json::parse_stream(text, limits) {
        Ok(documents) => return Ok(documents),
        Err(broken) => broken,
    };
    let Some(start) = yaml_retry_start(text, broken.good_end).filter(|_| broken.values_read <= 1)
    else {
        return Err(broken.error);
    };
    let mut documents = broken.documents;
    let mut json_error = Some(broken.error);
    for chunk in yaml::split_documents_from(text, start) {
        match yaml::parse_chunk(text, &chunk, limits) {
            Ok(more) => {
                if !more.is_empty() {
                    json_error = None;
                }
                documents.extend(more);
            }
            Err(error) => return Err(json_error.unwrap_or(error)),
        }
    }
    Ok(documents)
}

/// Where apimachinery restarts as YAML: past the blanks after `offset`, up to and including the first line break.
fn yaml_retry_start(text: &str, offset: usize) -> Option<usize> {
    let mut at = offset;
    for c in text[offset..].chars() {
        if !c.is_whitespace() {
            return Some(at);
        }
        at += c.len_utf8();
        if c == '\n' {
            return Some(at);
        }
    }
    None
}

/// Parses every document of a text as kubectl reads a file: JSON when it starts with `{`, else YAML.
pub fn parse_all(text: &str, limits: Limits) -> Result<Vec<Document>, YamlError> {
    match Syntax::of(text) {
        Syntax::Json => parse_json_stream(text, limits),
        Syntax::Yaml => yaml::parse_yaml(text, limits),
    }
}

/// Parses text that must hold at most one document: settings, metadata, digest maps. Empty text is `null`.
pub fn parse_single(text: &str) -> Result<Value, YamlError> {
    let mut documents = parse_all(text, Limits::default())?;
    match documents.len() {
        0 => Ok(Value::Null),
        1 => Ok(documents.remove(0).value),
        _ => Err(YamlError {
            message: "expected one YAML document, found several".to_owned(),
            line: documents[1].line,
            column: 1,
            is_syntax: false,
        }),
    }
}

/// Parses every document of a file, its documents in parallel; the first error in file order wins.
pub fn load_documents(file: &ManifestFile, limits: Limits) -> Result<Vec<Document>, InputError> {
    let chunks = chunks_of(file, limits);
    let parsed: Vec<Result<Vec<Document>, YamlError>> = chunks
        .par_iter()
        .map(|chunk| parse_chunk(file, chunk, limits))
        .collect();
    let parsed = reread_broken_lists(&chunks, parsed, |list| parse_chunk(file, list, limits));
    let mut documents = Vec::with_capacity(parsed.len());
    for result in parsed {
        documents.extend(result.map_err(|error| file_error(file, error))?);
    }
    Ok(documents)
}

/// A parse error as a file error, with a hint when the file looks like an unrendered Helm/Go template (the usual
/// reason a manifest in a repository is not valid YAML) or was read as JSON because it starts with `{`.
pub fn file_error(file: &ManifestFile, error: YamlError) -> InputError {
    let template_line = if error.is_syntax {
        file.text
            .lines()
            .position(|line| line.contains("{{"))
            .map(|index| index + 1)
    } else {
        None
    };
    let message = match (template_line, file.syntax) {
        (Some(line), _) => format!(
            "{}; the file holds `{{{{ … }}}}` (line {line}): if it is a Helm or Go template, render it first \
             (`helm template … | host-harness check POLICY -`)",
            error.message
        ),
        (None, Syntax::Json) if !file.name.ends_with(".json") => format!(
            "{} (the text starts with `{{`, so it is read as JSON, as kubectl reads it)",
            error.message
        ),
        (None, _) => error.message,
    };
    InputError::new(&file.name, message).at(error.line, error.column)
}
