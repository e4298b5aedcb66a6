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

/// Largest List read (a file or stdin over [`MAX_FILE_BYTES`] that begins as a List does): a cluster's inventory
/// (`kubectl get pods -A -o json`) is one List and can pass 256 MiB. Its items are read one by one (see
/// [`super::lists`]), so memory stays near the file's size; past 2 GiB, split the inventory (by namespace).
pub const MAX_LIST_BYTES: u64 = 2 * 1024 * 1024 * 1024;

/// How much of the start of a big file is looked at to tell whether it is a List.
const LIST_SNIFF_BYTES: usize = 64 * 1024;

/// Whether a text's start is a List's, as kubectl writes one: an `items:` key at column 0 (YAML), or an `"items"`
/// key holding an array (JSON), within its first [`LIST_SNIFF_BYTES`]. (A stray disk image or log has neither.)
fn begins_as_list(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(LIST_SNIFF_BYTES)];
    let yaml_key = |at: usize| {
        let line = &head[at..];
        super::lists::is_items_key(&line[..memchr::memchr(b'\n', line).unwrap_or(line.len())])
    };
    let json_key = |at: usize| {
        let mut rest = head[at + b"\"items\"".len()..]
            .iter()
            .filter(|b| !b.is_ascii_whitespace());
        rest.next() == Some(&b':') && rest.next() == Some(&b'[')
    };
    yaml_key(0)
        || memchr::memmem::find_iter(head, b"\nitems:").any(|at| yaml_key(at + 1))
        || memchr::memmem::find_iter(head, b"\"items\"").any(json_key)
}

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
    /// The text, decoded to UTF-8 without its byte-order mark.
    pub text: String,
    /// How the file was encoded: `pin` writes it back the same way.
    pub encoding: Encoding,
    pub syntax: Syntax,
}

impl ManifestFile {
    /// A UTF-8 text, read as kubectl would read it (see [`Syntax`]).
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        let name = name.into();
        let text = text.into();
        let syntax = Syntax::of(&text);
        ManifestFile {
            name,
            text,
            encoding: Encoding::Utf8,
            syntax,
        }
    }

    /// The same file with new text (a rewrite of it), in the same encoding and syntax.
    pub fn with_text(&self, text: String) -> Self {
        ManifestFile {
            name: self.name.clone(),
            text,
            encoding: self.encoding,
            syntax: self.syntax,
        }
    }

    /// The bytes this text is stored as on disk.
    pub fn bytes_of(&self, text: &str) -> Vec<u8> {
        self.encoding.encode(text)
    }
}

/// How kubectl reads a file, whatever its name: as a stream of JSON values when it starts with `{` (after blanks),
/// else as YAML (see [`super::json`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    Yaml,
    Json,
}

impl Syntax {
    pub fn of(text: &str) -> Syntax {
        if super::json::looks_like_json(text) {
            Syntax::Json
        } else {
            Syntax::Yaml
        }
    }
}

/// The encodings kubectl reads, told apart by their byte-order mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf8WithBom,
    Utf16Le,
    Utf16Be,
}

impl Encoding {
    /// The encoding a byte-order mark announces, and the mark's length.
    fn from_bom(bytes: &[u8]) -> (Encoding, usize) {
        match bytes {
            [0xEF, 0xBB, 0xBF, ..] => (Encoding::Utf8WithBom, 3),
            [0xFE, 0xFF, ..] => (Encoding::Utf16Be, 2),
            [0xFF, 0xFE, ..] => (Encoding::Utf16Le, 2),
            _ => (Encoding::Utf8, 0),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Encoding::Utf8 => "UTF-8",
            Encoding::Utf8WithBom => "UTF-8 with a byte-order mark",
            Encoding::Utf16Le => "UTF-16LE",
            Encoding::Utf16Be => "UTF-16BE",
        }
    }

    /// `text` as this encoding stores it, byte-order mark included.
    pub fn encode(self, text: &str) -> Vec<u8> {
        match self {
            Encoding::Utf8 => text.as_bytes().to_vec(),
            Encoding::Utf8WithBom => [&[0xEF, 0xBB, 0xBF], text.as_bytes()].concat(),
            Encoding::Utf16Le | Encoding::Utf16Be => std::iter::once(0xFEFF)
                .chain(text.encode_utf16())
                .flat_map(|unit| match self {
                    Encoding::Utf16Be => unit.to_be_bytes(),
                    _ => unit.to_le_bytes(),
                })
                .collect(),
        }
    }

    /// Decodes UTF-16 after the byte-order mark; on failure, the byte offset (in the whole file) of the first bad
    /// unit.
    fn decode_utf16(self, body: &[u8], bom: usize) -> Result<String, usize> {
        if !body.len().is_multiple_of(2) {
            return Err(bom + body.len() - 1);
        }
        let units = body.chunks_exact(2).map(|pair| match self {
            Encoding::Utf16Be => u16::from_be_bytes([pair[0], pair[1]]),
            _ => u16::from_le_bytes([pair[0], pair[1]]),
        });
        let mut text = String::with_capacity(body.len() / 2);
        let mut offset = bom;
        for c in char::decode_utf16(units) {
            let c = c.map_err(|_| offset)?;
            offset += c.len_utf16() * 2;
            text.push(c);
        }
        Ok(text)
    }
}

/// UTF-32's byte-order marks: YAML allows UTF-32, but kubectl decodes only UTF-8 and UTF-16.
fn utf32_bom(bytes: &[u8]) -> Option<&'static str> {
    match bytes {
        [0x00, 0x00, 0xFE, 0xFF, ..] => Some("UTF-32BE"),
        [0xFF, 0xFE, 0x00, 0x00, ..] => Some("UTF-32LE"),
        _ => None,
    }
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
            let mut stdin = std::io::stdin().lock();
            let mut read = |bytes: &mut Vec<u8>, cap: u64| {
                (&mut stdin)
                    .take(cap + 1 - bytes.len() as u64)
                    .read_to_end(bytes)
                    .map_err(|error| {
                        InputError::new(
                            &name,
                            format!("cannot read: {}", describe_io_error(&error)),
                        )
                    })
            };
            read(&mut bytes, MAX_FILE_BYTES)?;
            // Past the cap, only a List goes on being read (see MAX_LIST_BYTES).
            if bytes.len() as u64 > MAX_FILE_BYTES && begins_as_list(&bytes) {
                read(&mut bytes, MAX_LIST_BYTES)?;
            }
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
            if metadata.len() > MAX_LIST_BYTES {
                return Err(too_large(name));
            }
            let mut file = std::fs::File::open(path).map_err(|error| {
                InputError::new(&name, format!("cannot read: {}", describe_io_error(&error)))
            })?;
            let cannot_read = |error: std::io::Error| {
                InputError::new(&name, format!("cannot read: {}", describe_io_error(&error)))
            };
            // Sized up front: growing a buffer of tens of megabytes by doubling copies it again and again.
            let mut bytes = Vec::with_capacity(metadata.len().min(MAX_LIST_BYTES) as usize + 1);
            if metadata.len() > MAX_FILE_BYTES {
                // Only a List is read past the cap: its start tells.
                (&mut file)
                    .take(LIST_SNIFF_BYTES as u64)
                    .read_to_end(&mut bytes)
                    .map_err(cannot_read)?;
                if !begins_as_list(&bytes) {
                    return Err(too_large(name));
                }
            }
            file.take(MAX_LIST_BYTES + 1 - bytes.len() as u64)
                .read_to_end(&mut bytes)
                .map_err(cannot_read)?;
            bytes
        }
    };
    text_from_bytes(name, bytes)
}

fn too_large(name: String) -> InputError {
    InputError::new(
        name,
        format!(
            "larger than {} MiB; not a manifest file (a List, as `kubectl get -o yaml|json` writes one, may be up \
             to {} MiB)",
            MAX_FILE_BYTES / (1024 * 1024),
            MAX_LIST_BYTES / (1024 * 1024)
        ),
    )
}

/// Checks that bytes are a text file (within the size limit, no NUL, valid UTF-8, UTF-16 or UTF-32 by its
/// byte-order mark) and decodes it.
pub fn text_from_bytes(name: String, bytes: Vec<u8>) -> Result<ManifestFile, InputError> {
    let size = bytes.len() as u64;
    if size > MAX_LIST_BYTES || (size > MAX_FILE_BYTES && !begins_as_list(&bytes)) {
        return Err(too_large(name));
    }
    if let Some(utf32) = utf32_bom(&bytes) {
        // kubectl cannot apply this file, so neither can CI accept it.
        return Err(InputError::new(
            name,
            format!(
                "{utf32} text (by its byte-order mark), which kubectl cannot read; save the file as UTF-8"
            ),
        ));
    }
    let (encoding, bom) = Encoding::from_bom(&bytes);
    let text = match encoding {
        Encoding::Utf8 | Encoding::Utf8WithBom => {
            let mut bytes = bytes;
            bytes.drain(..bom);
            utf8_text(&name, bytes, bom)?
        }
        Encoding::Utf16Le | Encoding::Utf16Be => {
            let text = encoding.decode_utf16(&bytes[bom..], bom).map_err(|offset| {
                InputError::new(
                    &name,
                    format!(
                        "invalid {} at byte offset {offset} (the file starts with a {} byte-order mark)",
                        encoding.name(),
                        encoding.name()
                    ),
                )
            })?;
            if let Some(offset) = memchr::memchr(0, text.as_bytes()) {
                let (line, column) = line_and_column(text.as_bytes(), offset);
                return Err(InputError::new(
                    name,
                    format!(
                        "binary file (a NUL character in {} text); not YAML or JSON",
                        encoding.name()
                    ),
                )
                .at(line, column));
            }
            text
        }
    };
    let syntax = Syntax::of(&text);
    Ok(ManifestFile {
        name,
        text,
        encoding,
        syntax,
    })
}

/// UTF-8 bytes (after a byte-order mark of `bom` bytes) as text; errors give offsets in the whole file.
fn utf8_text(name: &str, bytes: Vec<u8>, bom: usize) -> Result<String, InputError> {
    // memchr: every input byte passes here before parsing starts, on one core.
    if let Some(offset) = memchr::memchr(0, &bytes) {
        let (line, column) = line_and_column(&bytes, offset);
        return Err(InputError::new(
            name,
            format!(
                "binary file (NUL byte at offset {}); not YAML or JSON",
                offset + bom
            ),
        )
        .at(line, column));
    }
    String::from_utf8(bytes).map_err(|error| {
        let offset = error.utf8_error().valid_up_to();
        let (line, column) = line_and_column(error.as_bytes(), offset);
        InputError::new(
            name,
            format!(
                "invalid UTF-8 at byte offset {}; YAML and JSON files are UTF-8 (or UTF-16 with a byte-order mark)",
                offset + bom
            ),
        )
        .at(line, column)
    })
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

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::begins_as_list;

    #[rstest]
    #[case::kubectl_yaml("apiVersion: v1\nitems:\n- apiVersion: v1\n", true)]
    #[case::yaml_items_first("items:\n- a\n", true)]
    #[case::yaml_items_with_a_comment("kind: List\nitems: # pods\n- a\n", true)]
    #[case::yaml_items_then_a_plain_scalar("items:#x\n", false)]
    #[case::kubectl_json("{\n    \"apiVersion\": \"v1\",\n    \"items\": [\n", true)]
    #[case::compact_json("{\"kind\":\"List\",\"items\" : [{}]}", true)]
    #[case::indented_items_key("spec:\n  items:\n  - a\n", false)]
    #[case::items_with_a_value("items: 3\n", false)]
    #[case::json_items_not_an_array("{\"items\": {}}", false)]
    #[case::a_log("2026-12-07 items: 3 processed\n", false)]
    #[case::nothing("", false)]
    fn a_big_file_is_read_only_when_it_begins_as_a_list(#[case] head: &str, #[case] is_list: bool) {
        assert_eq!(begins_as_list(head.as_bytes()), is_list);
    }
}
