//! From command-line paths to manifest texts.
//!
//! A file named on the command line is always read; a directory is walked recursively for `*.yaml`,
//! `*.yml` and `*.json`, in sorted order (stable output), skipping hidden entries (`.git`, `.github`:
//! workflow files are YAML but not manifests) and following symlinks, with loops reported as errors.
//! `-` is standard input. Every problem is an [`InputError`] in the place of the file it concerns, so
//! the caller reports it and goes on with the other files.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Largest file read: far above any real manifest (the API server takes 3 MiB per request), low
/// enough that a stray disk image or log cannot exhaust memory.
pub const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;

/// A file to read, resolved from the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputPath {
    File(PathBuf),
    Stdin,
}

impl InputPath {
    /// The name reports use: the path as reached from the command line, or `<stdin>`.
    pub fn display_name(&self) -> String {
        match self {
            InputPath::File(path) => path.display().to_string(),
            InputPath::Stdin => "<stdin>".to_owned(),
        }
    }
}

/// A manifest file's text.
#[derive(Debug, Clone)]
pub struct ManifestFile {
    pub name: String,
    pub text: String,
}

/// A file (or directory entry) that could not be read or parsed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct InputError {
    /// The file, as in [`InputPath::display_name`].
    pub file: String,
    pub message: String,
    /// 1-based position of the problem, when it has one.
    pub line: Option<usize>,
    pub column: Option<usize>,
}

impl InputError {
    pub fn new(file: impl Into<String>, message: impl Into<String>) -> Self {
        InputError {
            file: file.into(),
            message: message.into(),
            line: None,
            column: None,
        }
    }

    pub fn at(mut self, line: usize, column: usize) -> Self {
        self.line = Some(line);
        self.column = Some(column);
        self
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(line), Some(column)) => {
                write!(f, "{}:{line}:{column}: {}", self.file, self.message)
            }
            (Some(line), None) => write!(f, "{}:{line}: {}", self.file, self.message),
            _ => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

impl std::error::Error for InputError {}

/// Expands command-line paths into the files to read, in order.
pub fn expand_paths(paths: &[PathBuf]) -> Vec<Result<InputPath, InputError>> {
    let mut inputs = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            inputs.push(Ok(InputPath::Stdin));
            continue;
        }
        match std::fs::metadata(path) {
            Ok(meta) if meta.is_dir() => walk_directory(path, &mut inputs),
            Ok(_) => inputs.push(Ok(InputPath::File(path.clone()))),
            Err(error) => inputs.push(Err(InputError::new(
                path.display().to_string(),
                describe_io_error(&error),
            ))),
        }
    }
    inputs
}

fn walk_directory(root: &Path, inputs: &mut Vec<Result<InputPath, InputError>>) {
    let walker = walkdir::WalkDir::new(root)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|entry| {
            entry.depth() == 0 || !entry.file_name().to_string_lossy().starts_with('.')
        });
    for entry in walker {
        match entry {
            Ok(entry) if entry.file_type().is_file() && has_manifest_extension(entry.path()) => {
                inputs.push(Ok(InputPath::File(entry.into_path())));
            }
            Ok(_) => {}
            Err(error) => {
                let file = error.path().unwrap_or(root).display().to_string();
                let message = if let Some(ancestor) = error.loop_ancestor() {
                    format!(
                        "symbolic link loop (back to {}); not followed",
                        ancestor.display()
                    )
                } else if let Some(io) = error.io_error() {
                    describe_io_error(io)
                } else {
                    error.to_string()
                };
                inputs.push(Err(InputError::new(file, message)));
            }
        }
    }
}

fn has_manifest_extension(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml" | "json")
    )
}

fn describe_io_error(error: &std::io::Error) -> String {
    match error.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => error.to_string(),
    }
}

/// Reads one input as UTF-8 text.
pub fn read_input(input: &InputPath) -> Result<ManifestFile, InputError> {
    let name = input.display_name();
    let bytes = match input {
        InputPath::Stdin => {
            let mut bytes = Vec::new();
            std::io::stdin()
                .lock()
                .take(MAX_FILE_BYTES + 1)
                .read_to_end(&mut bytes)
                .map_err(|error| {
                    InputError::new(&name, format!("cannot read: {}", describe_io_error(&error)))
                })?;
            bytes
        }
        InputPath::File(path) => {
            // Look before opening: opening a FIFO or a device blocks or never ends, and a file over the cap need
            // not be read to be refused. (Following links, as the open would.)
            let metadata = std::fs::metadata(path).map_err(|error| {
                InputError::new(&name, format!("cannot read: {}", describe_io_error(&error)))
            })?;
            if !metadata.is_file() {
                return Err(InputError::new(
                    &name,
                    "not a regular file (a FIFO, socket or device); not read",
                ));
            }
            if metadata.len() > MAX_FILE_BYTES {
                return Err(too_large(name));
            }
            let file = std::fs::File::open(path).map_err(|error| {
                InputError::new(&name, format!("cannot read: {}", describe_io_error(&error)))
            })?;
            // Sized up front: growing a buffer of tens of megabytes by doubling copies it again and again.
            let mut bytes = Vec::with_capacity(metadata.len().min(MAX_FILE_BYTES) as usize + 1);
            file.take(MAX_FILE_BYTES + 1)
                .read_to_end(&mut bytes)
                .map_err(|error| {
                    InputError::new(&name, format!("cannot read: {}", describe_io_error(&error)))
                })?;
            bytes
        }
    };
    text_from_bytes(name, bytes)
}

fn too_large(name: String) -> InputError {
    InputError::new(
        name,
        format!(
            "larger than {} MiB; not a manifest file",
            MAX_FILE_BYTES / (1024 * 1024)
        ),
    )
}

/// Checks that bytes are a text file (no NUL, valid UTF-8, within the size limit).
pub fn text_from_bytes(name: String, bytes: Vec<u8>) -> Result<ManifestFile, InputError> {
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_large(name));
    }
    // memchr: every input byte passes here before parsing starts, on one core.
    if let Some(offset) = memchr::memchr(0, &bytes) {
        let (line, column) = line_and_column(&bytes, offset);
        return Err(InputError::new(
            name,
            format!("binary file (NUL byte at offset {offset}); not YAML or JSON"),
        )
        .at(line, column));
    }
    match String::from_utf8(bytes) {
        Ok(text) => Ok(ManifestFile { name, text }),
        Err(error) => {
            let offset = error.utf8_error().valid_up_to();
            let (line, column) = line_and_column(error.as_bytes(), offset);
            Err(InputError::new(
                name,
                format!("invalid UTF-8 at byte offset {offset}; YAML and JSON files are UTF-8"),
            )
            .at(line, column))
        }
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_and_column(bytes: &[u8], offset: usize) -> (usize, usize) {
    let before = &bytes[..offset];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    (line, column)
}
