//! The waPC host: runs a Kubewarden policy module on wasmtime.
//!
//! A [`PolicyHost`] compiles a module once (or loads it from the compiled-module cache) and links it against
//! the waPC imports, host capabilities and, for modules that need it, WASI preview 1. Each evaluation then
//! gets a fresh instance from the pre-linked module, so no state leaks from one request to the next, under a
//! deadline and a linear-memory cap. Whatever the module does, an evaluation ends in a verdict or an
//! [`EvaluationError`], never a hang or a crash of the host.

pub mod cache;
pub mod capabilities;
mod engine;
mod error;
mod wapc;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde_json::Value;
use wasmtime::{
    Engine, Extern, InstancePre, Linker, Module, ModuleExport, Store, Trap, UpdateDeadline,
};
use wasmtime_wasi::I32Exit;
use wasmtime_wasi::p1::WasiP1Ctx;

pub use cache::ModuleOrigin;
pub use capabilities::{Capabilities, HostCapability};
pub use error::EvaluationError;
pub use wapc::MAX_GUEST_MESSAGE_BYTES;

use crate::kubewarden::{SettingsValidation, ValidationResponse, validation_payload};
use wapc::{DeadlinePassed, GuestViolation, MemoryLimitExceeded, StoreState};

/// policy-server's default `--policy-timeout`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);
/// The default cap on a module's linear memory.
pub const DEFAULT_MEMORY_LIMIT_BYTES: u64 = 256 * 1024 * 1024;

/// How a [`PolicyHost`] runs its module.
#[derive(Debug, Clone)]
pub struct HostOptions {
    /// Deadline for one evaluation (instantiation included, time inside host capabilities not: each bounds its
    /// own); `None` lets evaluations run without one.
    pub timeout: Option<Duration>,
    /// Cap on the module's linear memory, in bytes (at most 4 GiB, all a wasm32 module can address).
    pub memory_limit_bytes: u64,
    /// Use the on-disk compiled-module cache (see [`cache`]).
    pub cache: bool,
    /// Show the policy's log lines (`kubewarden`/`tracing`/`log`, `__console_log`, WASI stdout/stderr) on stderr.
    pub verbose: bool,
    /// The host capabilities served to the policy.
    pub capabilities: Capabilities,
}

impl Default for HostOptions {
    fn default() -> Self {
        HostOptions {
            timeout: Some(DEFAULT_TIMEOUT),
            memory_limit_bytes: DEFAULT_MEMORY_LIMIT_BYTES,
            cache: true,
            verbose: false,
            capabilities: Capabilities::new(),
        }
    }
}

/// One compiled, linked policy module, ready to evaluate from many threads at once.
///
/// Concurrent evaluations draw instances from a pool of four per core (at least 16, at most 1024); an
/// evaluation beyond that fails with [`EvaluationError::Instantiation`] rather than waiting, so callers
/// bound their parallelism by the core count (as a rayon pool does).
pub struct PolicyHost {
    engine: Engine,
    instance_pre: InstancePre<StoreState>,
    exports: GuestExports,
    module_bytes: Vec<u8>,
    module_origin: ModuleOrigin,
    timeout: Option<Duration>,
    memory_limit_bytes: u64,
    verbose: bool,
    capabilities: Arc<Capabilities>,
    /// The module imports `wasi_snapshot_preview1`, so each store gets a WASI context.
    imports_wasi: bool,
}

/// The functions a guest may export to initialise itself, run in this order before the first call: a WASI
/// reactor's `_initialize`, a WASI command's `_start` (TinyGo and wasip1 policies register their handlers
/// there), then waPC's own `wapc_init`.
const INIT_FUNCTIONS: [&str; 3] = ["_initialize", "_start", "wapc_init"];

/// The exports an evaluation uses, looked up by name once per module rather than in every instance (three string
/// lookups and a type check, paid on every evaluation otherwise).
struct GuestExports {
    memory: Option<ModuleExport>,
    /// The [`INIT_FUNCTIONS`] the module exports, in their order.
    init: Vec<(&'static str, ModuleExport)>,
    guest_call: Option<ModuleExport>,
}

impl GuestExports {
    fn of(module: &Module) -> GuestExports {
        GuestExports {
            memory: module.get_export_index("memory"),
            init: INIT_FUNCTIONS
                .into_iter()
                .filter_map(|name| Some((name, module.get_export_index(name)?)))
                .collect(),
            guest_call: module.get_export_index("__guest_call"),
        }
    }
}

impl PolicyHost {
    /// Loads the module at `path` (a WebAssembly binary, or WAT text).
    pub fn load(path: &Path, options: HostOptions) -> anyhow::Result<PolicyHost> {
        let bytes = std::fs::read(path)
            .with_context(|| format!("reading the policy module {}", path.display()))?;
        Self::from_bytes(&bytes, options)
            .with_context(|| format!("loading the policy module {}", path.display()))
    }

    /// Loads a module from memory: a WebAssembly binary, or WAT text.
    pub fn from_bytes(wasm_or_wat: &[u8], options: HostOptions) -> anyhow::Result<PolicyHost> {
        let module_bytes = module_binary(wasm_or_wat)?;
        let memory_limit_bytes = options
            .memory_limit_bytes
            .min(engine::WASM32_MAX_MEMORY_BYTES);
        let engine = engine::build_engine(
            options.verbose,
            options.timeout.is_some(),
            engine::MemoryReset::for_module(&module_bytes),
        )?;
        let cache_dir = if options.cache {
            cache::default_cache_dir()
        } else {
            None
        };
        let (module, module_origin) = cache::load_module(
            &engine,
            &module_bytes,
            cache_dir.as_deref(),
            options.verbose,
        )?;

        let imports_wasi = module
            .imports()
            .any(|import| import.module() == "wasi_snapshot_preview1");
        let mut linker = Linker::new(&engine);
        wapc::add_to_linker(&mut linker).map_err(anyhow::Error::from)?;
        if imports_wasi {
            wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |state: &mut StoreState| {
                state.wasi.as_mut().expect(
                    "a WASI context is created for every store of a module that imports WASI",
                )
            })
            .map_err(anyhow::Error::from)?;
        }
        let exports = GuestExports::of(&module);
        let instance_pre = linker
            .instantiate_pre(&module)
            .map_err(anyhow::Error::from)
            .context("the policy imports something this host does not provide (a waPC host provides the `wapc` functions and WASI preview 1)")?;

        if options.timeout.is_some() {
            engine::start_epoch_ticker(&engine)?;
        }
        let capabilities = if options.verbose {
            options.capabilities.with_policy_logs_on_stderr()
        } else {
            options.capabilities
        };
        Ok(PolicyHost {
            engine,
            instance_pre,
            exports,
            module_bytes,
            module_origin,
            timeout: options.timeout,
            memory_limit_bytes,
            verbose: options.verbose,
            capabilities: Arc::new(capabilities),
            imports_wasi,
        })
    }

    /// The module as WebAssembly binary (WAT input is returned compiled to binary): for reading its custom
    /// sections, such as the Kubewarden metadata `kwctl annotate` embeds.
    pub fn module_bytes(&self) -> &[u8] {
        &self.module_bytes
    }

    /// Where the compiled code came from: the cache, or a compilation.
    pub fn module_origin(&self) -> ModuleOrigin {
        self.module_origin
    }

    /// Asks the policy whether `settings` are valid (the waPC `validate_settings` call, with the raw settings).
    pub fn validate_settings(
        &self,
        settings: &Value,
    ) -> Result<SettingsValidation, EvaluationError> {
        const OPERATION: &str = "validate_settings";
        let payload = serde_json::to_vec(settings).expect("a serde_json::Value always serializes");
        let answer = self.call(OPERATION, payload)?;
        parse_answer(OPERATION, &answer)
    }

    /// Asks the policy for its verdict on `request`, a bare AdmissionRequest, under `settings`
    /// (the waPC `validate` call, with `{"request": …, "settings": …}`).
    pub fn validate(
        &self,
        request: &Value,
        settings: &Value,
    ) -> Result<ValidationResponse, EvaluationError> {
        const OPERATION: &str = "validate";
        let answer = self.call(OPERATION, validation_payload(request, settings))?;
        parse_answer(OPERATION, &answer)
    }

    /// The Kubewarden protocol version the policy speaks (`"v1"` for policies built with the SDK).
    pub fn protocol_version(&self) -> Result<String, EvaluationError> {
        const OPERATION: &str = "protocol_version";
        let answer = self.call(OPERATION, Vec::new())?;
        parse_answer(OPERATION, &answer)
    }

    /// [`PolicyHost::validate`] on a validation payload already in JSON (see
    /// [`validation_payload`](crate::kubewarden::validation_payload)), also saying how long its parts took (for
    /// `host-harness bench`). Timed from the payload's bytes, as an admission webhook receives its request, to the
    /// parsed verdict: turning a `Value` into those bytes is the caller's cost, not the evaluation's.
    pub fn validate_timed(
        &self,
        payload: Vec<u8>,
    ) -> (
        Result<ValidationResponse, EvaluationError>,
        EvaluationTimings,
    ) {
        const OPERATION: &str = "validate";
        let started = Instant::now();
        let mut timings = EvaluationTimings::default();
        let answer = self.call_timed(OPERATION, payload, &mut timings);
        let verdict = answer.and_then(|answer| parse_answer(OPERATION, &answer));
        timings.total = started.elapsed();
        (verdict, timings)
    }

    /// Runs one waPC call in a fresh instance and returns the guest's response.
    pub fn call(&self, operation: &str, payload: Vec<u8>) -> Result<Vec<u8>, EvaluationError> {
        self.call_timed(operation, payload, &mut EvaluationTimings::default())
    }

    fn call_timed(
        &self,
        operation: &str,
        payload: Vec<u8>,
        timings: &mut EvaluationTimings,
    ) -> Result<Vec<u8>, EvaluationError> {
        let instantiating = Instant::now();
        let deadline = self.timeout.map(|timeout| instantiating + timeout);
        let wasi = self.imports_wasi.then(|| self.wasi_context());
        let state = StoreState::new(
            operation,
            payload,
            self.capabilities.clone(),
            self.verbose,
            deadline,
            self.memory_limit_bytes,
            wasi,
        );
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.memory);
        // The deadline covers the whole evaluation, instantiation and initialisation included. Without a
        // timeout the module was compiled without epoch checks (see `engine::build_engine`): nothing to arm.
        if let Some(timeout) = self.timeout {
            store.set_epoch_deadline(engine::deadline_ticks(timeout));
            // The epoch deadline is a coarse alarm. When it rings, the evaluation's real deadline decides: time
            // spent in host capabilities has moved it later (see `StoreState::deadline`), so the guest may get
            // the rest of its time; otherwise it is interrupted (`Trap::Interrupt`, reported as a timeout).
            store.epoch_deadline_callback(|context| {
                let now = Instant::now();
                match context.data().deadline {
                    Some(deadline) if now < deadline => Ok(UpdateDeadline::Continue(
                        engine::deadline_ticks(deadline - now),
                    )),
                    _ => Ok(UpdateDeadline::Interrupt),
                }
            });
        }

        let outcome = self.run_guest_call(&mut store, operation, instantiating, timings);
        outcome.map_err(|failure| self.classify(failure, store.data(), operation))
    }

    fn run_guest_call(
        &self,
        store: &mut Store<StoreState>,
        operation: &str,
        instantiating: Instant,
        timings: &mut EvaluationTimings,
    ) -> Result<Vec<u8>, Failure> {
        let instance = self
            .instance_pre
            .instantiate(&mut *store)
            .map_err(Failure::Instantiation)?;
        let exports = &self.exports;
        let get = |store: &mut Store<StoreState>, export: Option<&ModuleExport>| {
            export.and_then(|export| instance.get_module_export(&mut *store, export))
        };
        let memory = get(store, exports.memory.as_ref())
            .and_then(Extern::into_memory)
            .ok_or(Failure::Missing("memory"))?;
        store.data_mut().guest_memory = Some(memory);
        for (name, init) in &exports.init {
            if let Some(init) = get(store, Some(init)).and_then(Extern::into_func) {
                run_init_function(store, init, name)?;
            }
        }
        let guest_call = get(store, exports.guest_call.as_ref())
            .and_then(Extern::into_func)
            .and_then(|func| func.typed::<(i32, i32), i32>(&*store).ok())
            .ok_or(Failure::Missing("__guest_call"))?;
        let (operation_len, payload_len) = {
            let state = store.data();
            (state.operation.len(), state.payload.len())
        };
        let (operation_len, payload_len) = (wasm32_len(operation_len)?, wasm32_len(payload_len)?);
        let calling = Instant::now();
        timings.instantiate = calling - instantiating;
        let succeeded = guest_call.call(&mut *store, (operation_len, payload_len));
        timings.guest_call = calling.elapsed();
        timings.capability_calls = store.data().capability_calls;
        timings.in_capabilities = store.data().in_capabilities;
        let succeeded = succeeded.map_err(Failure::Wasm)?;

        let state = store.data_mut();
        match (
            succeeded,
            state.guest_response.take(),
            state.guest_error.take(),
        ) {
            (1, Some(response), _) => Ok(response),
            (1, None, _) => Err(Failure::BadResponse(
                "the guest reported success but never called __guest_response".into(),
            )),
            (0, _, Some(error)) => Err(Failure::GuestError(
                String::from_utf8_lossy(&error).into_owned(),
            )),
            (0, _, None) => Err(Failure::GuestError(format!(
                "{operation} failed without an error message"
            ))),
            (other, _, _) => Err(Failure::BadResponse(format!(
                "__guest_call returned {other}, not 1 (success) or 0 (failure)"
            ))),
        }
    }

    fn wasi_context(&self) -> WasiP1Ctx {
        // No arguments, environment or preopened directories: a policy sees nothing of the machine. Its
        // stdout and stderr are log output, shown with --verbose (never on our stdout, which carries results).
        let mut builder = wasmtime_wasi::WasiCtxBuilder::new();
        if self.verbose {
            builder.stdout(std::io::stderr()).stderr(std::io::stderr());
        }
        builder.build_p1()
    }

    /// Turns a failed evaluation into the error a caller sees, using what the store recorded on the way.
    fn classify(&self, failure: Failure, state: &StoreState, operation: &str) -> EvaluationError {
        if let Some(requested_bytes) = state.memory.exceeded_with {
            return EvaluationError::MemoryLimit {
                limit_bytes: self.memory_limit_bytes,
                requested_bytes,
            };
        }
        let operation = operation.to_owned();
        match failure {
            Failure::Missing(name) => EvaluationError::MissingExport { name: name.into() },
            Failure::BadResponse(reason) => EvaluationError::BadResponse { operation, reason },
            Failure::GuestError(message) => EvaluationError::Guest { operation, message },
            Failure::Instantiation(error) => self.classify_wasm(error, operation, |message| {
                EvaluationError::Instantiation { message }
            }),
            Failure::Wasm(error) => {
                let trap_operation = operation.clone();
                self.classify_wasm(error, operation, |message| EvaluationError::Trap {
                    operation: trap_operation,
                    message,
                })
            }
        }
    }

    fn classify_wasm(
        &self,
        error: wasmtime::Error,
        operation: String,
        otherwise: impl FnOnce(String) -> EvaluationError,
    ) -> EvaluationError {
        let timed_out = error.downcast_ref::<DeadlinePassed>().is_some()
            || error.downcast_ref::<Trap>() == Some(&Trap::Interrupt);
        if let (true, Some(limit)) = (timed_out, self.timeout) {
            return EvaluationError::Timeout { limit };
        }
        if let Some(GuestViolation(message)) = error.downcast_ref::<GuestViolation>() {
            return EvaluationError::ProtocolViolation {
                operation,
                message: message.clone(),
            };
        }
        if error.downcast_ref::<MemoryLimitExceeded>().is_some() {
            // Normally caught by `classify` through the store; kept for completeness.
            return EvaluationError::MemoryLimit {
                limit_bytes: self.memory_limit_bytes,
                requested_bytes: 0,
            };
        }
        if let Some(I32Exit(code)) = error.downcast_ref::<I32Exit>() {
            return otherwise(format!("the policy exited with status {code}"));
        }
        otherwise(describe_wasm_error(&error))
    }
}

/// The WebAssembly binary of a module given as binary or as WAT text.
fn module_binary(wasm_or_wat: &[u8]) -> anyhow::Result<Vec<u8>> {
    const WASM_MAGIC: &[u8] = b"\0asm";
    if wasm_or_wat.starts_with(WASM_MAGIC) {
        return Ok(wasm_or_wat.to_vec());
    }
    // WAT text starts with `(` or a comment; anything else (a JSON file, an ELF binary, an OCI reference
    // written to a file…) gets a short error rather than a WAT parser error quoting its first line.
    let looks_like_wat = std::str::from_utf8(wasm_or_wat).is_ok_and(|text| {
        text.trim_start().starts_with('(') || text.trim_start().starts_with(";;")
    });
    anyhow::ensure!(
        looks_like_wat,
        "the policy is not a WebAssembly module: it does not start with the \\0asm magic bytes"
    );
    let binary =
        wat::parse_bytes(wasm_or_wat).context("the policy is WAT text that does not parse")?;
    Ok(binary.into_owned())
}

/// How long the parts of one evaluation took: see [`PolicyHost::validate_timed`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EvaluationTimings {
    /// A fresh instance: the store, instantiation from the pre-linked module, and the guest's initialisation
    /// exports (`wapc_init`).
    pub instantiate: Duration,
    /// The guest's `__guest_call`: reading the request, the policy's own work, handing back the answer.
    pub guest_call: Duration,
    /// The whole evaluation: the two above, handing the payload's bytes in, dropping the instance (its memory is
    /// reset for the next one) and reading the verdict's JSON.
    pub total: Duration,
    /// How many times the guest called a host capability other than the policy log.
    pub capability_calls: u32,
    /// Time spent inside host capabilities (part of `guest_call`; not counted against the deadline).
    pub in_capabilities: Duration,
}

/// Why a guest call failed, before it is turned into an [`EvaluationError`] (which needs the store's state).
enum Failure {
    Instantiation(wasmtime::Error),
    Wasm(wasmtime::Error),
    Missing(&'static str),
    GuestError(String),
    BadResponse(String),
}

/// Runs the initialisation export `init`, named `name`.
fn run_init_function(
    store: &mut Store<StoreState>,
    init: wasmtime::Func,
    name: &str,
) -> Result<(), Failure> {
    let init = init.typed::<(), ()>(&*store).map_err(|_| {
        Failure::BadResponse(format!(
            "the export `{name}` must take no arguments and return nothing"
        ))
    })?;
    match init.call(&mut *store, ()) {
        Ok(()) => Ok(()),
        // A WASI command's `_start` may end with `proc_exit(0)`: that is a normal end of initialisation.
        Err(error) if matches!(error.downcast_ref::<I32Exit>(), Some(I32Exit(0))) => Ok(()),
        Err(error) => Err(Failure::Wasm(error)),
    }
}

fn wasm32_len(len: usize) -> Result<i32, Failure> {
    u32::try_from(len).map(|len| len as i32).map_err(|_| {
        Failure::BadResponse(format!(
            "the message is {len} bytes, more than a wasm32 guest can address"
        ))
    })
}

/// A readable account of a wasmtime error: the trap (or host error) itself, then the start of the wasm
/// backtrace wasmtime attached, if any (deep recursion would otherwise print thousands of frames).
fn describe_wasm_error(error: &wasmtime::Error) -> String {
    const FRAMES_SHOWN: usize = 8;
    let cause = error.root_cause().to_string();
    let outermost = error.to_string();
    if outermost == cause {
        return cause;
    }
    // The outermost context is wasmtime's "error while executing at wasm backtrace:" and one line per frame.
    let mut lines = outermost.lines();
    let mut description = cause;
    for line in lines.by_ref().take(FRAMES_SHOWN + 1) {
        description.push('\n');
        description.push_str(line);
    }
    let hidden = lines.count();
    if hidden > 0 {
        description.push_str(&format!("\n    … {hidden} more frames"));
    }
    description
}

/// Parses a guest's JSON answer to `operation`.
fn parse_answer<T: serde::de::DeserializeOwned>(
    operation: &str,
    answer: &[u8],
) -> Result<T, EvaluationError> {
    serde_json::from_slice(answer).map_err(|error| {
        const SHOWN: usize = 200;
        let shown = String::from_utf8_lossy(&answer[..answer.len().min(SHOWN)]).into_owned();
        let ellipsis = if answer.len() > SHOWN { "…" } else { "" };
        EvaluationError::BadResponse {
            operation: operation.to_owned(),
            reason: format!(
                "{error} (the answer was {} bytes: {shown:?}{ellipsis})",
                answer.len()
            ),
        }
    })
}
