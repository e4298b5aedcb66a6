//! Loading manifest trees: files, directories and stdin → YAML documents → Kubernetes objects →
//! CREATE admission requests.
//!
//! - [`inputs`]: which files a list of command-line paths means, and reading them (with clear errors
//!   for binary, non-UTF-8, unreadable and oversized files, and symlink loops).
//! - [`yaml`]: YAML/JSON text → `serde_json` values, with every scalar's position (line, column, byte
//!   span) and its place in the document (looked up by JSON pointer); documents split for parallel parsing.
//!   `block_scanner` is its fast path for plain block-style documents (the same events as saphyr-parser).
//! - [`objects`]: documents → objects (`kind: List` and `*List` wrappers unwrapped) → admission requests,
//!   with the group/version/kind and the plural resource the API server would use.

mod block_scanner;
pub mod inputs;
pub mod objects;
mod resources;
pub mod yaml;

pub use inputs::{InputError, InputPath, ManifestFile, expand_paths, read_input};
pub use objects::{ManifestObject, ObjectError, ObjectIdentity, admission_request, objects_of};
pub use resources::resource_for_kind;
pub use yaml::{
    Chunk, Document, Limits, PathId, ScalarPosition, Style, YamlError, parse_all, parse_chunk,
    parse_single, split_documents,
};

use rayon::prelude::*;

/// Parses every document of a file, its documents in parallel; the first error in file order wins.
pub fn load_documents(file: &ManifestFile, limits: Limits) -> Result<Vec<Document>, InputError> {
    let chunks = split_documents(&file.text);
    let parsed: Vec<Result<Vec<Document>, YamlError>> = chunks
        .par_iter()
        .map(|chunk| parse_chunk(&file.text, chunk, limits))
        .collect();
    let mut documents = Vec::with_capacity(parsed.len());
    for result in parsed {
        documents.extend(result.map_err(|error| yaml_input_error(file, error))?);
    }
    Ok(documents)
}

/// A YAML error as a file error, with a hint when the file looks like an unrendered Helm/Go template
/// (the usual reason a manifest in a repository is not valid YAML).
pub fn yaml_input_error(file: &ManifestFile, error: YamlError) -> InputError {
    let template_line = if error.is_syntax {
        file.text
            .lines()
            .position(|line| line.contains("{{"))
            .map(|index| index + 1)
    } else {
        None
    };
    let message = match template_line {
        Some(line) => format!(
            "{}; the file holds `{{{{ … }}}}` (line {line}): if it is a Helm or Go template, render it first \
             (`helm template … | host-harness check POLICY -`)",
            error.message
        ),
        None => error.message,
    };
    InputError::new(&file.name, message).at(error.line, error.column)
}
