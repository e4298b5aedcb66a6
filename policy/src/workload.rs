//! Where a workload keeps its images: the pod spec of each kind, and in it every container list and image volume.
//!
//! Works on [`Json`] (the payload's kept fields) and reads only the fields it needs, rather than on k8s-openapi types:
//! those would add hundreds of KiB to policy.wasm, and would reject (or silently drop) fields this policy does not
//! care about.

use std::fmt;

use crate::json::Json;
use crate::text;

/// The path from the object to its pod spec, for the kinds that have one. `kind` is the admission request's
/// `request.kind.kind`: objects sent to policies need not carry their own `kind`.
pub fn pod_spec_location(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "Pod" => &["spec"],
        "Deployment"
        | "ReplicaSet"
        | "StatefulSet"
        | "DaemonSet"
        | "ReplicationController"
        | "Job" => &["spec", "template", "spec"],
        "CronJob" => &["spec", "jobTemplate", "spec", "template", "spec"],
        "PodTemplate" => &["template", "spec"],
        _ => return None,
    })
}

/// What holds an image inside a pod spec.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SiteKind {
    Container,
    InitContainer,
    EphemeralContainer,
    /// `volumes[].image.reference` (Kubernetes 1.35+ image volumes).
    ImageVolume,
}

impl SiteKind {
    /// Every kind of site, in the order the pod spec's lists are read.
    pub const ALL: [SiteKind; 4] = [
        SiteKind::Container,
        SiteKind::InitContainer,
        SiteKind::EphemeralContainer,
        SiteKind::ImageVolume,
    ];

    const CONTAINER_LISTS: [SiteKind; 3] = [
        SiteKind::Container,
        SiteKind::InitContainer,
        SiteKind::EphemeralContainer,
    ];

    /// The pod spec field that holds this kind of site.
    fn list_key(self) -> &'static str {
        match self {
            SiteKind::Container => "containers",
            SiteKind::InitContainer => "initContainers",
            SiteKind::EphemeralContainer => "ephemeralContainers",
            SiteKind::ImageVolume => "volumes",
        }
    }

    /// How messages name this kind of site (see [`crate::violation`]).
    pub fn label(self) -> &'static str {
        match self {
            SiteKind::Container => "container",
            SiteKind::InitContainer => "init container",
            SiteKind::EphemeralContainer => "ephemeral container",
            SiteKind::ImageVolume => "image volume",
        }
    }
}

/// One place in the object that names an image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageSite<'a> {
    pub kind: SiteKind,
    /// The container's or volume's name, when it has one.
    pub name: Option<&'a str>,
    /// The image as written; `None` when the field is missing or null.
    pub image: Option<&'a str>,
    /// Where the pod spec is in the object ([`pod_spec_location`]) and the index in its list: the site's paths are
    /// spelled out only when someone reads them (a message, a mutation), not on every evaluation.
    pod_spec_at: &'static [&'static str],
    index: usize,
}

impl ImageSite<'_> {
    /// Dotted path of the container or volume, for people: `spec.template.spec.containers[0]`.
    pub fn path(&self) -> String {
        let mut path = String::new();
        self.push_path(&mut path);
        path
    }

    /// Appends what `Display` writes: `container "app" (spec.template.spec.containers[0])`.
    pub fn push_label(&self, out: &mut String) {
        out.push_str(self.kind.label());
        if let Some(name) = self.name {
            out.push(' ');
            text::push_quoted(out, name);
        }
        out.push_str(" (");
        self.push_path(out);
        out.push(')');
    }

    /// JSON pointer of the image string itself, for mutation: `/spec/template/spec/containers/0/image`.
    pub fn image_pointer(&self) -> String {
        let mut pointer: String = self.pod_spec_at.iter().flat_map(|key| ["/", key]).collect();
        pointer.push('/');
        pointer.push_str(self.kind.list_key());
        pointer.push('/');
        text::push_decimal(&mut pointer, self.index);
        pointer.push_str(match self.kind {
            SiteKind::ImageVolume => "/image/reference",
            _ => "/image",
        });
        pointer
    }

    fn push_path(&self, out: &mut String) {
        for key in self.pod_spec_at {
            out.push_str(key);
            out.push('.');
        }
        out.push_str(self.kind.list_key());
        out.push('[');
        text::push_decimal(out, self.index);
        out.push(']');
    }
}

impl fmt::Display for ImageSite<'_> {
    /// `container "app" (spec.template.spec.containers[0])`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut label = String::new();
        self.push_label(&mut label);
        f.write_str(&label)
    }
}

/// A part of the object that does not have the shape Kubernetes gives it. `Display`: what is wrong, with its path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Malformed(pub String);

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Every image site of the pod spec at `pod_spec_at` in `object`, in the order containers, initContainers,
/// ephemeralContainers, volumes. A missing (or null) pod spec or list has no sites: nothing in it can run. A value of
/// the wrong type is `Malformed`, never skipped: what the policy cannot read, it does not accept.
pub fn image_sites<'a>(
    object: &'a Json<'_>,
    pod_spec_at: &'static [&'static str],
) -> Result<Vec<ImageSite<'a>>, Malformed> {
    let mut pod_spec = object;
    for (depth, key) in pod_spec_at.iter().enumerate() {
        pod_spec = match pod_spec.get(key) {
            None | Some(Json::Null) => return Ok(Vec::new()),
            Some(value) if value.is_object() => value,
            Some(other) => {
                return Err(Malformed(format!(
                    "{} must be an object, found {}",
                    pod_spec_at[..=depth].join("."),
                    other.type_name()
                )));
            }
        };
    }
    // Paths for messages, made only when something is malformed.
    let path = || pod_spec_at.join(".");
    let item_path = |kind: SiteKind, index| format!("{}.{}[{index}]", path(), kind.list_key());

    let mut sites = Vec::new();
    for kind in SiteKind::CONTAINER_LISTS {
        for (index, container) in list_items(pod_spec, kind.list_key(), path)? {
            sites.push(ImageSite {
                kind,
                name: name_of(container, || item_path(kind, index))?,
                image: string_field(container, "image", || item_path(kind, index))?,
                pod_spec_at,
                index,
            });
        }
    }
    let kind = SiteKind::ImageVolume;
    for (index, volume) in list_items(pod_spec, kind.list_key(), path)? {
        let image_source = match volume.get("image") {
            None | Some(Json::Null) => continue, // some other volume type
            Some(image) if image.is_object() => image,
            Some(other) => {
                return Err(Malformed(format!(
                    "{}.image must be an object, found {}",
                    item_path(kind, index),
                    other.type_name()
                )));
            }
        };
        sites.push(ImageSite {
            kind,
            name: name_of(volume, || item_path(kind, index))?,
            image: string_field(image_source, "reference", || {
                format!("{}.image", item_path(kind, index))
            })?,
            pod_spec_at,
            index,
        });
    }
    Ok(sites)
}

/// The objects of the list `key` of `parent` (at `parent_path`), with their indexes.
fn list_items<'a, 'j>(
    parent: &'a Json<'j>,
    key: &str,
    parent_path: impl Fn() -> String,
) -> Result<Vec<(usize, &'a Json<'j>)>, Malformed> {
    let items = match parent.get(key) {
        None | Some(Json::Null) => return Ok(Vec::new()),
        Some(Json::Array(items)) => items,
        Some(other) => {
            return Err(Malformed(format!(
                "{}.{key} must be a list, found {}",
                parent_path(),
                other.type_name()
            )));
        }
    };
    items
        .iter()
        .enumerate()
        .map(|(index, item)| match item {
            Json::Object(_) => Ok((index, item)),
            other => Err(Malformed(format!(
                "{}.{key}[{index}] must be an object, found {}",
                parent_path(),
                other.type_name()
            ))),
        })
        .collect()
}

fn name_of<'a>(
    item: &'a Json<'_>,
    item_path: impl Fn() -> String,
) -> Result<Option<&'a str>, Malformed> {
    string_field(item, "name", item_path)
}

/// A string field that may be missing or null (`None`) but is never another type.
fn string_field<'a>(
    parent: &'a Json<'_>,
    key: &str,
    parent_path: impl Fn() -> String,
) -> Result<Option<&'a str>, Malformed> {
    match parent.get(key) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::String(value)) => Ok(Some(value)),
        Some(other) => Err(Malformed(format!(
            "{}.{key} must be a string, found {}",
            parent_path(),
            other.type_name()
        ))),
    }
}
