//! Structure-aware: the fuzz input chooses an AdmissionRequest (operation, kind, subresource, a pod spec with
//! containers, init and ephemeral containers and image volumes whose images are pinned references, corrupted ones,
//! look-alikes or values of the wrong type), the settings and the registry's answers; it is written as JSON and sent
//! to the `validate` entry point. This reaches the workload walk and the rule far more often than raw bytes do.
//!
//! Checked: the answer's shape and soundness (src/verdict.rs) on every input; and, where the input is well formed and
//! its verdict plain, completeness: all images pinned -> accepted unchanged; an unpinned, invalid or malformed image
//! on CREATE -> rejected, naming where it is.

#![no_main]

use std::collections::HashMap;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use require_digest::entry;
use require_digest::reference::{Algorithm, ImageReference};
use require_digest::resolver::TableResolver;
use require_digest::settings::Settings;
use require_digest_fuzz::verdict::{
    check_same_as_whole_read, check_soundness, parse_response, pinned_digest,
};
use serde_json::{Map, Value, json};

#[derive(Arbitrary, Debug)]
struct Request {
    operation: Operation,
    kind: Kind,
    /// The object's own `kind`, which may disagree with the request's (the request's counts).
    object_kind: Option<Kind>,
    sub_resource: SubResource,
    object: ObjectShape,
    old_object: Option<PodSpec>,
    name: Option<String>,
    settings: FuzzSettings,
    /// Registry answers for resolveTags, by index into the object's images.
    answers: Vec<(u8, Answer)>,
}

#[derive(Arbitrary, Debug)]
enum Operation {
    Create,
    Update,
    Delete,
    Connect,
    Other(String),
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Kind {
    Pod,
    Deployment,
    ReplicaSet,
    StatefulSet,
    DaemonSet,
    ReplicationController,
    Job,
    CronJob,
    PodTemplate,
    ConfigMap,
    Missing,
}

impl Kind {
    fn name(self) -> Option<&'static str> {
        Some(match self {
            Kind::Pod => "Pod",
            Kind::Deployment => "Deployment",
            Kind::ReplicaSet => "ReplicaSet",
            Kind::StatefulSet => "StatefulSet",
            Kind::DaemonSet => "DaemonSet",
            Kind::ReplicationController => "ReplicationController",
            Kind::Job => "Job",
            Kind::CronJob => "CronJob",
            Kind::PodTemplate => "PodTemplate",
            Kind::ConfigMap => "ConfigMap",
            Kind::Missing => return None,
        })
    }

    /// The keys from the object to its pod spec.
    fn pod_spec_keys(self) -> Option<&'static [&'static str]> {
        match self {
            Kind::Pod => Some(&["spec"]),
            Kind::Deployment
            | Kind::ReplicaSet
            | Kind::StatefulSet
            | Kind::DaemonSet
            | Kind::ReplicationController
            | Kind::Job => Some(&["spec", "template", "spec"]),
            Kind::CronJob => Some(&["spec", "jobTemplate", "spec", "template", "spec"]),
            Kind::PodTemplate => Some(&["template", "spec"]),
            Kind::ConfigMap | Kind::Missing => None,
        }
    }
}

#[derive(Arbitrary, Debug)]
enum SubResource {
    None,
    Empty,
    EphemeralContainers,
    Status,
    Other(String),
    NotAString,
}

#[derive(Arbitrary, Debug)]
enum ObjectShape {
    Spec(PodSpec),
    Missing,
    Null,
    List,
    Text,
    /// The pod spec (or a step to it) is a string.
    SpecNotAnObject,
}

#[derive(Arbitrary, Debug)]
struct PodSpec {
    containers: Vec<Container>,
    init_containers: Option<Vec<Container>>,
    ephemeral_containers: Option<Vec<Container>>,
    volumes: Vec<Volume>,
    containers_not_a_list: bool,
}

#[derive(Arbitrary, Debug)]
struct Container {
    name: Name,
    image: ImageValue,
}

#[derive(Arbitrary, Debug)]
enum Name {
    Missing,
    App,
    Sidecar,
    Other(String),
    Number,
}

#[derive(Arbitrary, Debug)]
struct Volume {
    name: Name,
    source: VolumeSource,
}

#[derive(Arbitrary, Debug)]
enum VolumeSource {
    EmptyDir,
    Image(ImageValue),
    ImageNotAnObject,
}

#[derive(Arbitrary, Debug)]
enum ImageValue {
    Missing,
    Null,
    Number(i32),
    Bool(bool),
    List,
    Object,
    Text(ImageText),
}

#[derive(Arbitrary, Debug)]
enum ImageText {
    Pinned(Reference),
    Corrupted(Reference, Corruption),
    LookAlike(u8, DigestSpec),
    Raw(String),
}

#[derive(Arbitrary, Debug)]
struct Reference {
    registry: Registry,
    path: Vec<PathComponent>,
    tag: Option<Tag>,
    digest: Option<DigestSpec>,
}

#[derive(Arbitrary, Debug)]
enum Registry {
    None,
    DockerHub,
    Example,
    WithPort(u16),
    Localhost(Option<u16>),
    Ipv4([u8; 4], Option<u16>),
    Ipv6([u16; 8], Option<u16>),
    Other(String),
}

#[derive(Arbitrary, Debug)]
enum PathComponent {
    Nginx,
    App,
    Team,
    Library,
    Separators,
    Digits(u16),
}

#[derive(Arbitrary, Debug)]
enum Tag {
    Latest,
    Version(u8, u8),
    Raw(String),
}

#[derive(Arbitrary, Debug, Clone, Copy)]
struct DigestSpec {
    algorithm: AlgorithmChoice,
    seed: u64,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum AlgorithmChoice {
    Sha256,
    Sha384,
    Sha512,
}

impl AlgorithmChoice {
    fn algorithm(self) -> Algorithm {
        match self {
            AlgorithmChoice::Sha256 => Algorithm::Sha256,
            AlgorithmChoice::Sha384 => Algorithm::Sha384,
            AlgorithmChoice::Sha512 => Algorithm::Sha512,
        }
    }
}

impl DigestSpec {
    fn hex(self) -> String {
        // A small xorshift stream: enough variety for the hex, and reproducible from the seed.
        let mut state = self.seed | 1;
        (0..self.algorithm.algorithm().hex_len())
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                char::from_digit((state % 16) as u32, 16).expect("a hex digit")
            })
            .collect()
    }

    fn text(self) -> String {
        format!("{}:{}", self.algorithm.algorithm(), self.hex())
    }
}

#[derive(Arbitrary, Debug)]
enum Corruption {
    Uppercase(u16),
    Replace(u16, char),
    Delete(u16),
    Insert(u16, char),
    Truncate(u16),
    SecondDigest,
    DigestBeforeTag,
    Surround(char),
}

#[derive(Arbitrary, Debug)]
struct FuzzSettings {
    exempt_images: Option<Vec<Pattern>>,
    allowed_algorithms: Option<Vec<AlgorithmName>>,
    require_tag: Option<bool>,
    allow_existing_violations: Option<bool>,
    resolve_tags: Option<bool>,
}

#[derive(Arbitrary, Debug)]
enum Pattern {
    RegistryWildcard,
    DockerHubAll,
    Everything,
    Raw(String),
}

#[derive(Arbitrary, Debug)]
enum AlgorithmName {
    Known(AlgorithmChoice),
    Raw(String),
}

#[derive(Arbitrary, Debug)]
enum Answer {
    Digest(DigestSpec),
    Raw(String),
}

impl Reference {
    /// Whether the generator promises this reference follows the grammar (it may still be long).
    fn grammar_valid(&self) -> bool {
        !matches!(self.registry, Registry::Other(_))
            && !matches!(self.tag, Some(Tag::Raw(_)))
            && !self.path.is_empty()
    }

    fn text(&self) -> String {
        let mut text = String::new();
        let port = |port: &Option<u16>| port.map(|p| format!(":{p}")).unwrap_or_default();
        match &self.registry {
            Registry::None => {}
            Registry::DockerHub => text.push_str("docker.io/"),
            Registry::Example => text.push_str("registry.example.com/"),
            Registry::WithPort(port) => text.push_str(&format!("registry.example.com:{port}/")),
            Registry::Localhost(p) => text.push_str(&format!("localhost{}/", port(p))),
            Registry::Ipv4([a, b, c, d], p) => {
                text.push_str(&format!("{a}.{b}.{c}.{d}{}/", port(p)))
            }
            Registry::Ipv6(groups, p) => {
                // Every group in hex: Ipv6Addr's Display writes IPv4-mapped addresses dotted, outside the grammar.
                let groups: Vec<String> = groups.iter().map(|group| format!("{group:x}")).collect();
                text.push_str(&format!("[{}]{}/", groups.join(":"), port(p)))
            }
            Registry::Other(other) => {
                text.push_str(other);
                text.push('/');
            }
        }
        let components: Vec<String> = self
            .path
            .iter()
            .take(6)
            .map(|component| match component {
                PathComponent::Nginx => "nginx".to_string(),
                PathComponent::App => "app".to_string(),
                PathComponent::Team => "team".to_string(),
                PathComponent::Library => "library".to_string(),
                // No "." here: as a first component without a registry it would be read as one.
                PathComponent::Separators => "a0_b-c__d---e".to_string(),
                PathComponent::Digits(n) => n.to_string(),
            })
            .collect();
        text.push_str(&components.join("/"));
        match &self.tag {
            None => {}
            Some(Tag::Latest) => text.push_str(":latest"),
            Some(Tag::Version(major, minor)) => text.push_str(&format!(":{major}.{minor}")),
            Some(Tag::Raw(tag)) => {
                text.push(':');
                text.push_str(tag);
            }
        }
        if let Some(digest) = self.digest {
            text.push('@');
            text.push_str(&digest.text());
        }
        text
    }
}

/// References that look pinned and are not: Unicode look-alikes, invisible characters, two digests...
fn look_alike(which: u8, digest: DigestSpec) -> String {
    let hex = digest.hex();
    let algorithm = digest.algorithm.algorithm();
    let fullwidth: String = hex
        .chars()
        .map(|c| match c.to_digit(10) {
            Some(d) => char::from_u32(0xFF10 + d).unwrap(),
            None => c,
        })
        .collect();
    let arabic_indic: String = hex
        .chars()
        .map(|c| match c.to_digit(10) {
            Some(d) => char::from_u32(0x0660 + d).unwrap(),
            None => c,
        })
        .collect();
    let cyrillic: String = hex.replace('a', "\u{0430}").replace('e', "\u{0435}");
    let variants = [
        format!("nginx@{algorithm}:{fullwidth}"),
        format!("nginx@{algorithm}:{arabic_indic}"),
        format!("nginx@{algorithm}:{cyrillic}"),
        format!("nginx@{algorithm}:{}\u{200D}{}", &hex[..10], &hex[10..]),
        format!("nginx\u{200B}@{algorithm}:{hex}"),
        format!("nginx@{algorithm}:{hex}@{algorithm}:{hex}"),
        format!("nginx@{algorithm}:{hex}:1.27"),
        format!("nginx:1.27@{algorithm}:{hex}\u{0}"),
        format!("nginx@sha256+b64u:{hex}"),
        format!("nginx@md5:{}", &hex[..32]),
        format!("nginx@sha1:{}", &hex[..40]),
        format!("nginx@sha512:{}", &hex[..64]),
        format!("nginx@{}:{hex}", algorithm.name().to_uppercase()),
        format!("nginx@{algorithm}:{}", hex.to_uppercase()),
        format!("nginx:1@2@{algorithm}:{hex}"),
        format!("nginx@{algorithm}:{hex}\n"),
        format!("\tnginx@{algorithm}:{hex}"),
        format!("n\u{0433}inx@{algorithm}:{hex}"),
    ];
    variants[usize::from(which) % variants.len()].clone()
}

fn corrupt(text: String, corruption: &Corruption, digest: DigestSpec) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    let at = |index: u16, len: usize| usize::from(index) % len.max(1);
    match corruption {
        Corruption::Uppercase(index) => {
            let i = at(*index, chars.len());
            if let Some(c) = chars.get_mut(i) {
                *c = c.to_ascii_uppercase();
            }
        }
        Corruption::Replace(index, with) => {
            let i = at(*index, chars.len());
            if let Some(c) = chars.get_mut(i) {
                *c = *with;
            }
        }
        Corruption::Delete(index) => {
            let i = at(*index, chars.len());
            if i < chars.len() {
                chars.remove(i);
            }
        }
        Corruption::Insert(index, what) => {
            let i = at(*index, chars.len() + 1);
            chars.insert(i, *what);
        }
        Corruption::Truncate(index) => chars.truncate(at(*index, chars.len())),
        Corruption::SecondDigest => chars.extend(format!("@{}", digest.text()).chars()),
        Corruption::DigestBeforeTag => chars.extend(":1.27".chars()),
        Corruption::Surround(c) => {
            chars.insert(0, *c);
            chars.push(*c);
        }
    }
    chars.into_iter().collect()
}

/// A container or volume name; `App` and `Sidecar` recur so that names collide (between lists, and with the old
/// object).
fn name_value(name: &Name) -> Option<Value> {
    match name {
        Name::Missing => None,
        Name::App => Some(json!("app")),
        Name::Sidecar => Some(json!("sidecar")),
        Name::Other(other) => Some(json!(other)),
        Name::Number => Some(json!(7)),
    }
}

/// Facts about the generated object the completeness checks need.
#[derive(Default)]
struct Facts {
    /// Every image string, in the policy's order (containers, init, ephemeral, volumes).
    images: Vec<String>,
    /// Some value has a type Kubernetes does not give it.
    malformed: bool,
    /// Some site has a missing or null image.
    missing_image: bool,
    /// (site path, image) of the first image that is not generated-pinned-and-grammar-valid.
    first_unpinned: Option<(String, String)>,
    /// Every image is a grammar-valid pinned reference: (image, tagged) for each.
    pinned: Vec<(String, bool)>,
}

fn image_value(value: &ImageValue, site: &str, facts: &mut Facts) -> Option<Value> {
    let text = match value {
        ImageValue::Missing => {
            facts.missing_image = true;
            return None;
        }
        ImageValue::Null => {
            facts.missing_image = true;
            return Some(Value::Null);
        }
        ImageValue::Number(n) => {
            facts.malformed = true;
            return Some(json!(n));
        }
        ImageValue::Bool(b) => {
            facts.malformed = true;
            return Some(json!(b));
        }
        ImageValue::List => {
            facts.malformed = true;
            return Some(json!(["nginx@sha256:".to_string() + &"0".repeat(64)]));
        }
        ImageValue::Object => {
            facts.malformed = true;
            return Some(json!({"image": "nginx@sha256:".to_string() + &"0".repeat(64)}));
        }
        ImageValue::Text(text) => text,
    };
    let image = match text {
        ImageText::Pinned(reference) => {
            let image = reference.text();
            if reference.grammar_valid() && reference.digest.is_some() {
                facts.pinned.push((image.clone(), reference.tag.is_some()));
            }
            image
        }
        ImageText::Corrupted(reference, corruption) => corrupt(
            reference.text(),
            corruption,
            reference.digest.unwrap_or(DigestSpec {
                algorithm: AlgorithmChoice::Sha256,
                seed: 1,
            }),
        ),
        ImageText::LookAlike(which, digest) => look_alike(*which, *digest),
        ImageText::Raw(raw) => raw.clone(),
    };
    if image.is_empty() {
        facts.missing_image = true;
    }
    if !facts.pinned.iter().any(|(pinned, _)| *pinned == image) && facts.first_unpinned.is_none() {
        facts.first_unpinned = Some((site.to_string(), image.clone()));
    }
    facts.images.push(image.clone());
    Some(Value::String(image))
}

fn pod_spec_value(spec: &PodSpec, path: &str, facts: &mut Facts) -> Value {
    let mut out = Map::new();
    let lists = [
        ("containers", Some(&spec.containers)),
        ("initContainers", spec.init_containers.as_ref()),
        ("ephemeralContainers", spec.ephemeral_containers.as_ref()),
    ];
    for (key, containers) in lists {
        let Some(containers) = containers else {
            continue;
        };
        if key == "containers" && spec.containers_not_a_list {
            facts.malformed = true;
            out.insert(key.into(), json!("nginx"));
            continue;
        }
        let items = containers
            .iter()
            .take(8)
            .enumerate()
            .map(|(index, container)| {
                let mut item = Map::new();
                if let Some(name) = name_value(&container.name) {
                    facts.malformed |= !name.is_string();
                    item.insert("name".into(), name);
                }
                let site = format!("{path}.{key}[{index}]");
                if let Some(image) = image_value(&container.image, &site, facts) {
                    item.insert("image".into(), image);
                }
                Value::Object(item)
            })
            .collect();
        out.insert(key.into(), Value::Array(items));
    }
    let volumes = spec
        .volumes
        .iter()
        .take(4)
        .enumerate()
        .map(|(index, volume)| {
            let mut item = Map::new();
            if let Some(name) = name_value(&volume.name) {
                // Only an image volume's name is read: other volumes hold nothing the policy judges.
                facts.malformed |=
                    !name.is_string() && matches!(volume.source, VolumeSource::Image(_));
                item.insert("name".into(), name);
            }
            let site = format!("{path}.volumes[{index}]");
            match &volume.source {
                VolumeSource::EmptyDir => {
                    item.insert("emptyDir".into(), json!({}));
                }
                VolumeSource::ImageNotAnObject => {
                    facts.malformed = true;
                    item.insert("image".into(), json!("nginx"));
                }
                VolumeSource::Image(image) => {
                    let mut source = Map::new();
                    if let Some(image) = image_value(image, &site, facts) {
                        source.insert("reference".into(), image);
                    }
                    item.insert("image".into(), Value::Object(source));
                }
            }
            Value::Object(item)
        })
        .collect();
    out.insert("volumes".into(), Value::Array(volumes));
    Value::Object(out)
}

/// `spec` wrapped in the keys that lead to a pod spec.
fn wrap(keys: &[&str], spec: Value) -> Value {
    keys.iter()
        .rev()
        .fold(spec, |inner, key| json!({ *key: inner }))
}

fn settings_value(settings: &FuzzSettings) -> Value {
    let mut out = Map::new();
    if let Some(patterns) = &settings.exempt_images {
        let patterns: Vec<Value> = patterns
            .iter()
            .map(|pattern| match pattern {
                Pattern::RegistryWildcard => json!("registry.example.com/*"),
                Pattern::DockerHubAll => json!("docker.io/*"),
                Pattern::Everything => json!("*"),
                Pattern::Raw(raw) => json!(raw),
            })
            .collect();
        out.insert("exemptImages".into(), Value::Array(patterns));
    }
    if let Some(names) = &settings.allowed_algorithms {
        let names: Vec<Value> = names
            .iter()
            .map(|name| match name {
                AlgorithmName::Known(choice) => json!(choice.algorithm().name()),
                AlgorithmName::Raw(raw) => json!(raw),
            })
            .collect();
        out.insert("allowedAlgorithms".into(), Value::Array(names));
    }
    for (key, value) in [
        ("requireTag", settings.require_tag),
        (
            "allowExistingViolations",
            settings.allow_existing_violations,
        ),
        ("resolveTags", settings.resolve_tags),
    ] {
        if let Some(value) = value {
            out.insert(key.into(), json!(value));
        }
    }
    Value::Object(out)
}

fuzz_target!(|input: Request| {
    let request_keys = input.kind.pod_spec_keys();
    // Where the object keeps its pod spec: by the object's own kind when it has one, so that a disagreeing kind
    // puts the images where only a policy reading the wrong kind would look.
    let object_keys = input
        .object_kind
        .and_then(Kind::pod_spec_keys)
        .or(request_keys)
        .unwrap_or(&["spec"]);
    let mut facts = Facts::default();
    let object = match &input.object {
        ObjectShape::Spec(spec) => {
            let mut object = wrap(
                object_keys,
                pod_spec_value(spec, &object_keys.join("."), &mut facts),
            );
            let metadata = json!({ "name": input.name.clone().unwrap_or_else(|| "web".into()) });
            object["metadata"] = metadata;
            if let Some(name) = input.object_kind.and_then(Kind::name) {
                object["kind"] = json!(name);
            }
            Some(object)
        }
        ObjectShape::Missing => None,
        ObjectShape::Null => Some(Value::Null),
        ObjectShape::List => Some(json!([])),
        ObjectShape::Text => Some(json!("object")),
        ObjectShape::SpecNotAnObject => Some(json!({ object_keys[0]: "spec" })),
    };
    let mut old_facts = Facts::default();
    let old_object = input.old_object.as_ref().map(|spec| {
        wrap(
            object_keys,
            pod_spec_value(spec, &object_keys.join("."), &mut old_facts),
        )
    });

    let mut request = Map::new();
    request.insert("uid".into(), json!("fuzz"));
    if let Some(kind) = input.kind.name() {
        request.insert(
            "kind".into(),
            json!({"group": "", "version": "v1", "kind": kind}),
        );
    }
    let operation = match &input.operation {
        Operation::Create => "CREATE".to_string(),
        Operation::Update => "UPDATE".to_string(),
        Operation::Delete => "DELETE".to_string(),
        Operation::Connect => "CONNECT".to_string(),
        Operation::Other(other) => other.clone(),
    };
    request.insert("operation".into(), json!(operation));
    match &input.sub_resource {
        SubResource::None => {}
        SubResource::Empty => {
            request.insert("subResource".into(), json!(""));
        }
        SubResource::EphemeralContainers => {
            request.insert("subResource".into(), json!("ephemeralcontainers"));
        }
        SubResource::Status => {
            request.insert("subResource".into(), json!("status"));
        }
        SubResource::Other(other) => {
            request.insert("subResource".into(), json!(other));
        }
        SubResource::NotAString => {
            request.insert("subResource".into(), json!(["ephemeralcontainers"]));
        }
    }
    if let Some(object) = &object {
        request.insert("object".into(), object.clone());
    }
    if let Some(old) = &old_object {
        request.insert("oldObject".into(), old.clone());
    }
    let settings = settings_value(&input.settings);
    let payload = json!({ "settings": settings, "request": request });
    let payload_bytes = serde_json::to_vec(&payload).expect("a Value serializes");

    let mut digests = HashMap::new();
    for (index, answer) in &input.answers {
        if facts.images.is_empty() {
            break;
        }
        let image = &facts.images[usize::from(*index) % facts.images.len()];
        let answer = match answer {
            Answer::Digest(digest) => digest.text(),
            Answer::Raw(raw) => raw.clone(),
        };
        digests.insert(image.clone(), answer);
    }
    let resolver = TableResolver::new(digests);

    let answer = entry::validate(&payload_bytes, &resolver);
    let response = parse_response(&answer);
    check_soundness(&payload_bytes, &response);
    check_same_as_whole_read(&payload_bytes, &response, &resolver);

    // Completeness, where the verdict is plain: CREATE/UPDATE of a known kind, valid settings, a well-formed object
    // whose own kind (if any) is the request's.
    let Ok(read_settings) = Settings::from_json(&settings) else {
        assert!(
            !response.accepted,
            "accepted under invalid settings {settings}"
        );
        return;
    };
    if matches!(input.kind, Kind::Missing) {
        assert!(
            !response.accepted,
            "accepted a request without request.kind"
        );
        return;
    }
    let judged_keys = match input.sub_resource {
        SubResource::None | SubResource::Empty => request_keys,
        SubResource::EphemeralContainers => Kind::Pod.pod_spec_keys(),
        _ => return,
    };
    let (Some(judged_keys), ObjectShape::Spec(_), Operation::Create | Operation::Update) =
        (judged_keys, &input.object, &input.operation)
    else {
        return;
    };
    if judged_keys != object_keys {
        return;
    }
    let message = response.message.as_deref().unwrap_or_default();
    if facts.malformed {
        assert!(!response.accepted, "accepted a malformed object: {payload}");
        assert!(
            message.starts_with("malformed admission request: "),
            "a malformed object is rejected as such, not with {message:?}"
        );
        return;
    }
    if facts.missing_image {
        assert!(
            !response.accepted,
            "accepted an object with a missing image: {payload}"
        );
        return;
    }
    let all_pinned = facts.images.iter().all(|image| {
        facts.pinned.iter().any(|(pinned, tagged)| {
            pinned == image
                && (*tagged || !read_settings.require_tag)
                && pinned_digest(image, &read_settings.allowed_algorithms).is_some()
        })
    });
    let names_fit = facts.images.iter().all(|image| {
        !matches!(
            ImageReference::parse(image),
            Err(require_digest::reference::ReferenceError::PathTooLong { .. })
        )
    });
    if all_pinned && names_fit {
        assert!(
            response.accepted && response.mutated_object.is_none(),
            "rejected (or changed) an object whose every image is pinned: {message:?}\n{payload}"
        );
    }
    let unpinned_on_create =
        matches!(input.operation, Operation::Create) && !read_settings.resolve_tags;
    if let (true, Some((site, image))) = (unpinned_on_create, &facts.first_unpinned) {
        let needs_nothing =
            ImageReference::parse_with_algorithms(image, &read_settings.allowed_algorithms)
                .is_ok_and(|reference| {
                    (reference.digest().is_some()
                        && (reference.tag().is_some() || !read_settings.require_tag))
                        || read_settings
                            .exemption_for(image, &reference.normalized())
                            .is_some()
                });
        if !needs_nothing {
            assert!(
                !response.accepted,
                "accepted {image:?} at {site} on CREATE: {payload}"
            );
            assert!(
                message.contains(&format!("({site})")),
                "the rejection does not name {site}, where {image:?} is: {message:?}"
            );
        }
    }
});
