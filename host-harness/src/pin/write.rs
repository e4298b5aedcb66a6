//! Replacing a file's content atomically, so that a run killed at any moment leaves every file either as it was or
//! as it should become, never half-written.
//!
//! The new text goes to a temporary file in the same directory (so the rename cannot cross file systems), with the
//! old file's permissions, flushed to disk, then renamed over the old file: rename(2) replaces the name in one step.
//! The temporary file is named `.<file name>.<random>.pin-tmp`: hidden, and not ending in `.yaml`, `.yml` or
//! `.json`, so if a kill leaves one behind, no later `check` or `pin` of the directory reads it as a manifest.
//! A symbolic link is followed: its target is rewritten and the link stays a link.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The suffix of every temporary file `pin` writes.
pub const TEMP_SUFFIX: &str = ".pin-tmp";

/// Why a file could not be replaced. The file is then as it was.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("cannot write beside {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("changed on disk while pin was running; left as it is now (run pin again)")]
    ChangedMeanwhile,
}

/// Replaces the content of `path` with `new_bytes`, provided it still holds `expected` (what the caller read).
pub fn replace_file(path: &Path, expected: &[u8], new_bytes: &[u8]) -> Result<(), WriteError> {
    let io_error = |source| WriteError::Io {
        path: path.to_path_buf(),
        source,
    };
    // The file itself, not a symlink to it: renaming over a link would replace the link with a regular file.
    let target = fs::canonicalize(path).map_err(io_error)?;
    let directory = target.parent().unwrap_or(Path::new("/"));
    let permissions = fs::metadata(&target).map_err(io_error)?.permissions();

    let prefix = temp_prefix(&target);
    let mut temp = tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(TEMP_SUFFIX)
        .tempfile_in(directory)
        .map_err(io_error)?;
    temp.write_all(new_bytes).map_err(io_error)?;
    temp.as_file()
        .set_permissions(permissions)
        .map_err(io_error)?;
    // On disk before the rename, so that even a crash of the machine cannot leave the new name with no content.
    temp.as_file().sync_all().map_err(io_error)?;

    // The last moment to notice an editor's save between our read and our write.
    if fs::read(&target).map_err(io_error)? != expected {
        return Err(WriteError::ChangedMeanwhile);
    }
    temp.persist(&target)
        .map_err(|error| io_error(error.error))?;
    // The rename itself durable too (best effort: not every file system lets a directory be synced).
    if let Ok(directory) = fs::File::open(directory) {
        let _ = directory.sync_all();
    }
    Ok(())
}

/// `.<file name>.`, shortened so the temporary name stays within the usual 255-byte limit.
fn temp_prefix(target: &Path) -> String {
    let name = target
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut end = name.len().min(200);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    format!(".{}.", &name[..end])
}

/// Whether `name` is one of the temporary files `pin` writes.
pub fn is_temp_file_name(name: &str) -> bool {
    name.starts_with('.') && name.ends_with(TEMP_SUFFIX)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::{PermissionsExt as _, symlink};

    use super::*;

    #[test]
    fn replaces_content_keeps_permissions_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.yaml");
        fs::write(&path, "old\n").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();

        replace_file(&path, b"old\n", b"new\n").unwrap();

        assert_eq!(fs::read_to_string(&path).unwrap(), "new\n");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o640
        );
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["app.yaml"]);
    }

    #[test]
    fn a_symlink_stays_a_link_and_its_target_is_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.yaml");
        let link = dir.path().join("link.yaml");
        fs::write(&real, "old\n").unwrap();
        symlink(&real, &link).unwrap();

        replace_file(&link, b"old\n", b"new\n").unwrap();

        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read_to_string(&real).unwrap(), "new\n");
    }

    #[test]
    fn a_file_changed_since_it_was_read_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.yaml");
        fs::write(&path, "edited meanwhile\n").unwrap();

        let error = replace_file(&path, b"old\n", b"new\n").unwrap_err();

        assert!(matches!(error, WriteError::ChangedMeanwhile), "{error}");
        assert_eq!(fs::read_to_string(&path).unwrap(), "edited meanwhile\n");
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            1,
            "the temporary file is removed"
        );
    }

    #[test]
    fn temporary_names_are_hidden_and_never_look_like_manifests() {
        for name in ["app.yaml", "x.json", "y.yml", &"long".repeat(100)] {
            let prefix = temp_prefix(Path::new(name));
            let temp = format!("{prefix}AbC123{TEMP_SUFFIX}");
            assert!(is_temp_file_name(&temp), "{temp}");
            assert!(temp.len() <= 255, "{}", temp.len());
            for extension in [".yaml", ".yml", ".json"] {
                assert!(!temp.ends_with(extension), "{temp}");
            }
        }
    }
}
