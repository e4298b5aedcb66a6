//! Where in a file a line of a policy's rejection points: one mapping, shared by `check` and `pin`, so both name the
//! same line for the same violation.

use std::ops::Range;

use require_digest::violation;
use serde_json::Value;

use crate::manifest::Document;
use crate::report::Violation;

/// An object in its document, for placing the lines of a rejection.
pub struct ObjectPlace<'a> {
    pub document: &'a Document,
    /// The object's JSON pointer within the document (`""`, or `/items/3` in a List).
    pub pointer: &'a str,
    /// The object's scalars (see `ManifestObject::scalars`): places are looked up among them only.
    pub scalars: Range<usize>,
    /// The object's own line, for a line that names no place in it.
    pub line: usize,
    /// The object's value (as sent to the policy).
    pub object: &'a Value,
}

impl ObjectPlace<'_> {
    /// A rejection's message line by line, each placed at the line it is about.
    pub fn violations(&self, message: &str) -> Vec<Violation> {
        message
            .lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| Violation {
                line: self.line_of_violation(line),
                message: line.to_owned(),
            })
            .collect()
    }

    /// The line a violation is about. A line in require-digest's violation format (`require_digest::violation`,
    /// which writes and reads it) points at its site's image, or at the site itself when it has no image (a
    /// container with no `image:`); any other line (a malformed object, another policy's words) at the longest string
    /// of the object that it quotes (an image, usually); otherwise the object's line.
    pub fn line_of_violation(&self, message: &str) -> usize {
        if let Some(violation) = violation::parse_line(message) {
            let image = format!("{}{}", self.pointer, violation.image_pointer());
            if let Some(scalar) = self.document.scalar_at_among(self.scalars.clone(), &image) {
                return scalar.line;
            }
            let site = format!("{}{}", self.pointer, violation.pointer());
            if let Some(scalar) = self
                .document
                .scalars_within_among(self.scalars.clone(), &site)
                .next()
            {
                return scalar.line;
            }
        }
        // Rare (require-digest names a site in most lines): pointers are written out here only.
        self.document
            .scalars_within_among(self.scalars.clone(), self.pointer)
            .filter_map(|scalar| {
                let pointer = self.document.pointer_of(scalar);
                let within_object = pointer.strip_prefix(self.pointer)?;
                let text = self.object.pointer(within_object)?.as_str()?;
                (text.len() >= 3 && message.contains(text)).then_some((text.len(), scalar.line))
            })
            // The longest quoted string; among equals, the first in the file.
            .max_by_key(|&(length, line)| (length, std::cmp::Reverse(line)))
            .map_or(self.line, |(_, line)| line)
    }
}
