//! What every policy-running command does first: find the module, read its settings, set the host's limits, and load
//! the policy with the settings already validated by the module itself. The command line (the binary's `cli` module)
//! only gathers these choices into a [`PolicySpec`]; everything here is plain library code, usable without clap.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use serde_json::Value;

use crate::host::{Capabilities, HostOptions, PolicyHost};
use crate::manifest;
use crate::registry::policy::{self, PulledPolicy};
use crate::registry::{DigestSource, RegistrySpec};

/// The policy a command runs, and under which limits.
#[derive(Debug, Clone)]
pub struct PolicySpec {
    /// The module: a path, a `file://` URI, or a policy in a registry, `registry://HOST/REPOSITORY:TAG` or
    /// `registry://HOST/REPOSITORY@sha256:…`.
    pub module: String,
    /// Settings as inline JSON; excludes `settings_path`.
    pub settings_json: Option<String>,
    /// Settings from a YAML or JSON file.
    pub settings_path: Option<PathBuf>,
    /// Deadline for one evaluation, in seconds; `None` for no deadline.
    pub timeout_secs: Option<f64>,
    pub memory_limit_mib: u64,
    /// Read and write the compiled-module cache.
    pub cache: bool,
    /// Show the policy's own log lines on stderr.
    pub verbose: bool,
}

/// The module's file: the one named, or a policy pulled from a registry (in the cache, or in a temporary file kept as
/// long as this value).
#[derive(Debug)]
pub struct ModuleFile {
    path: PathBuf,
    /// Set when the module came from a registry.
    pub pulled: Option<PulledPolicy>,
}

impl ModuleFile {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl PolicySpec {
    /// The module's file. A `registry://` policy is pulled with `registry`'s credentials and plain-HTTP registries,
    /// verified against its manifest, and kept beside the compiled modules (unless the cache is off); a `:tag`
    /// reference says on stderr which digest it resolved to, so a log shows exactly which policy judged.
    pub fn module_file(&self, registry: &RegistrySpec) -> anyhow::Result<ModuleFile> {
        if !policy::is_registry_reference(&self.module) {
            return Ok(ModuleFile {
                path: self.module_path()?,
                pulled: None,
            });
        }
        let cache_dir = if self.cache {
            crate::host::cache::default_policy_dir()
        } else {
            None
        };
        let pulled = policy::pull(&registry.resolver()?, &self.module, cache_dir.as_deref())?;
        if pulled.from_tag {
            eprintln!("{} resolved to {}", pulled.reference, pulled.pinned);
        }
        Ok(ModuleFile {
            path: pulled.path.clone(),
            pulled: Some(pulled),
        })
    }

    /// The module's path: as given, or the path of a `file://` URI. A `registry://` policy has none until it is
    /// pulled ([`Self::module_file`]).
    pub fn module_path(&self) -> anyhow::Result<PathBuf> {
        anyhow::ensure!(
            !policy::is_registry_reference(&self.module),
            "{} is a policy in a registry: pull it with PolicySpec::module_file",
            self.module
        );
        if !self.module.starts_with("file:") {
            return Ok(PathBuf::from(&self.module));
        }
        let url = url::Url::parse(&self.module)
            .with_context(|| format!("{:?} is not a valid file:// URI", self.module))?;
        url.to_file_path()
            .map_err(|()| anyhow::anyhow!("{:?} does not name a local file", self.module))
    }

    /// The host's options, serving `capabilities` to the policy; refuses limits no evaluation could run under.
    pub fn host_options(&self, capabilities: Capabilities) -> anyhow::Result<HostOptions> {
        let timeout = match self.timeout_secs {
            None => None,
            Some(secs) => Some(
                Duration::try_from_secs_f64(secs)
                    .ok()
                    .filter(|timeout| !timeout.is_zero())
                    .ok_or_else(|| {
                        anyhow::anyhow!(
                            "--timeout must be a positive number of seconds, not {secs}"
                        )
                    })?,
            ),
        };
        anyhow::ensure!(
            (1..=4096).contains(&self.memory_limit_mib),
            "--memory-limit-mib must be between 1 and 4096 (all a wasm32 module can address), not {}",
            self.memory_limit_mib
        );
        Ok(HostOptions {
            timeout,
            memory_limit_bytes: self.memory_limit_mib * 1024 * 1024,
            cache: self.cache,
            verbose: self.verbose,
            capabilities,
        })
    }

    /// The settings: the inline JSON, the one document of the settings file (YAML or JSON, read as manifests are),
    /// or `{}` when neither is given, as kwctl does.
    pub fn settings(&self) -> anyhow::Result<Value> {
        if let Some(json) = &self.settings_json {
            return serde_json::from_str(json).context("--settings-json is not valid JSON");
        }
        let Some(path) = &self.settings_path else {
            return Ok(serde_json::json!({}));
        };
        let file = manifest::read_input(&manifest::InputPath::File(path.clone()))
            .map_err(|error| anyhow::anyhow!("{error}"))
            .context("reading the settings file")?;
        // Read whole (never cut into List items): settings are one document, whatever they hold.
        let mut documents = manifest::parse_all(&file.text, manifest::Limits::default())
            .map_err(|error| anyhow::anyhow!("{}", manifest::file_error(&file, error)))
            .context("the settings file is not valid YAML or JSON")?;
        match documents.len() {
            0 => Ok(serde_json::json!({})),
            1 => Ok(documents.remove(0).value),
            n => anyhow::bail!(
                "the settings file {} holds {n} YAML documents; settings are one document",
                path.display()
            ),
        }
    }

    /// Loads the policy with the registry capability `registry` describes, and has it validate `settings`: invalid
    /// settings stop the command before anything is evaluated, with the policy's own message.
    pub fn load(&self, registry: &RegistrySpec, settings: &Value) -> anyhow::Result<PolicyHost> {
        self.load_with_source(registry, settings)
            .map(|(host, _)| host)
    }

    /// [`Self::load`], also returning the digest source the capability serves from, for a command that asks it
    /// itself (`check --verify-registry`) and so shares its per-run cache with the policy's calls.
    pub fn load_with_source(
        &self,
        registry: &RegistrySpec,
        settings: &Value,
    ) -> anyhow::Result<(PolicyHost, Arc<dyn DigestSource>)> {
        let source = registry.digest_source()?;
        let host = self.load_serving(Arc::clone(&source), registry, settings)?;
        Ok((host, source))
    }

    /// [`Self::load`] with the registry capability answering from `source` rather than from what `registry`'s
    /// flags describe (`pin --from-pods`); `registry` still says how to pull a `registry://` policy.
    pub fn load_serving(
        &self,
        source: Arc<dyn DigestSource>,
        registry: &RegistrySpec,
        settings: &Value,
    ) -> anyhow::Result<PolicyHost> {
        let mut capabilities = Capabilities::new();
        crate::registry::register_source(&mut capabilities, source);
        let module = self.module_file(registry)?;
        let host = PolicyHost::load(module.path(), self.host_options(capabilities)?)?;
        let verdict = host
            .validate_settings(settings)
            .context("validating the policy settings")?;
        if !verdict.valid {
            anyhow::bail!(
                "Provided settings are not valid: {}",
                verdict.message.unwrap_or_default()
            );
        }
        Ok(host)
    }
}
