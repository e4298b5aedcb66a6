//! The host side of the waPC protocol: the `wapc` imports a guest calls, and the per-evaluation state they
//! read and write.
//!
//! One evaluation is one `__guest_call(op_len, msg_len)`. The guest then pulls the operation name and the
//! message with `__guest_request`, may call the host any number of times with `__host_call` (reading each
//! answer with `__host_response_len`/`__host_response` or `__host_error_len`/`__host_error`), and finishes by
//! handing its answer to `__guest_response` or its failure to `__guest_error`.
//!
//! Every pointer and length a guest passes is checked against its linear memory: a bad one stops the
//! evaluation with a [`GuestViolation`], never a host panic. On wasm32 all of them are `i32`s holding
//! unsigned 32-bit values.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::{Caller, Extern, Linker, Memory, ResourceLimiter};
use wasmtime_wasi::p1::WasiP1Ctx;

use super::capabilities::{Capabilities, CapabilityKey, POLICY_LOG};

/// The waPC import module name.
const WAPC: &str = "wapc";

/// The largest message a guest may hand back (`__guest_response`, `__guest_error`). A Kubernetes object is
/// at most a few MiB (etcd's limit is 1.5 MiB); anything near this is a broken or hostile module.
pub const MAX_GUEST_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

/// Everything one evaluation's store holds: the request going in, the answers coming out, and the limits.
pub(crate) struct StoreState {
    /// The waPC operation being called (`validate`, …), also used in error messages.
    pub operation: String,
    /// The message for the operation.
    pub payload: Vec<u8>,
    /// What the guest passed to `__guest_response`, if it did.
    pub guest_response: Option<Vec<u8>>,
    /// What the guest passed to `__guest_error`, if it did.
    pub guest_error: Option<Vec<u8>>,
    /// The answer of the last host call, for `__host_response`.
    host_response: Vec<u8>,
    /// The error of the last host call, for `__host_error`.
    host_error: Vec<u8>,
    capabilities: Arc<Capabilities>,
    verbose: bool,
    /// When the evaluation must be over. The deadline guards against runaway guest code, so the time a host
    /// capability takes (each bounds its own, like the registry's `--registry-timeout`) moves it later. The
    /// epoch deadline callback (see `PolicyHost::call`) and `__host_call` both read it.
    pub deadline: Option<Instant>,
    /// Calls to host capabilities other than the policy log, served or not.
    pub capability_calls: u32,
    /// Time spent inside host capabilities (the policy log included), which the deadline does not count.
    pub in_capabilities: Duration,
    pub memory: MemoryCap,
    /// The instance's exported `memory`, once instantiated: the imports read and write it on every call, and
    /// looking it up by name each time was a tenth of the host's share of an evaluation.
    pub guest_memory: Option<Memory>,
    /// WASI preview 1, only for modules that import it.
    pub wasi: Option<WasiP1Ctx>,
}

impl StoreState {
    pub fn new(
        operation: &str,
        payload: Vec<u8>,
        capabilities: Arc<Capabilities>,
        verbose: bool,
        deadline: Option<Instant>,
        memory_limit_bytes: u64,
        wasi: Option<WasiP1Ctx>,
    ) -> Self {
        StoreState {
            operation: operation.to_owned(),
            payload,
            guest_response: None,
            guest_error: None,
            host_response: Vec::new(),
            host_error: Vec::new(),
            capabilities,
            verbose,
            deadline,
            capability_calls: 0,
            in_capabilities: Duration::ZERO,
            memory: MemoryCap {
                limit_bytes: memory_limit_bytes,
                exceeded_with: None,
            },
            guest_memory: None,
            wasi,
        }
    }
}

/// The linear-memory cap. Growth beyond it traps at once with a clear error, rather than letting
/// `memory.grow` return -1 into a guest that (like Rust's allocator) would abort with a vaguer one.
pub(crate) struct MemoryCap {
    pub limit_bytes: u64,
    /// The size the guest asked for when it hit the cap.
    pub exceeded_with: Option<u64>,
}

/// The error behind the trap raised when a guest grows past [`MemoryCap`].
#[derive(Debug, thiserror::Error)]
#[error("linear memory limit exceeded")]
pub(crate) struct MemoryLimitExceeded;

impl ResourceLimiter for MemoryCap {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired as u64 > self.limit_bytes {
            self.exceeded_with = Some(desired as u64);
            return Err(wasmtime::Error::new(MemoryLimitExceeded));
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        _desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // Tables are bounded by the instance allocator's own limits.
        Ok(true)
    }
}

/// The guest broke the protocol (a buffer outside its memory, an oversized message…): the evaluation stops.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct GuestViolation(pub String);

/// The evaluation's deadline passed (noticed at a host call; in WebAssembly code it is an epoch interrupt).
#[derive(Debug, thiserror::Error)]
#[error("the evaluation's deadline passed")]
pub(crate) struct DeadlinePassed;

/// Adds the `wapc` imports to `linker`.
pub(crate) fn add_to_linker(linker: &mut Linker<StoreState>) -> wasmtime::Result<()> {
    linker.func_wrap(WAPC, "__guest_request", guest_request)?;
    linker.func_wrap(WAPC, "__guest_response", guest_response)?;
    linker.func_wrap(WAPC, "__guest_error", guest_error)?;
    linker.func_wrap(WAPC, "__host_call", host_call)?;
    linker.func_wrap(WAPC, "__host_response", host_response)?;
    linker.func_wrap(WAPC, "__host_response_len", host_response_len)?;
    linker.func_wrap(WAPC, "__host_error", host_error)?;
    linker.func_wrap(WAPC, "__host_error_len", host_error_len)?;
    linker.func_wrap(WAPC, "__console_log", console_log)?;
    Ok(())
}

/// `__guest_request(op_ptr, ptr)`: the guest asks for the operation name and the message, into buffers of the
/// lengths `__guest_call` announced.
fn guest_request(
    mut caller: Caller<'_, StoreState>,
    op_ptr: i32,
    ptr: i32,
) -> wasmtime::Result<()> {
    let memory = exported_memory(&mut caller, "__guest_request")?;
    let (data, state) = memory.data_and_store_mut(&mut caller);
    copy_into_guest(data, "__guest_request", op_ptr, state.operation.as_bytes())?;
    copy_into_guest(data, "__guest_request", ptr, &state.payload)?;
    Ok(())
}

/// `__guest_response(ptr, len)`: the guest's answer.
fn guest_response(mut caller: Caller<'_, StoreState>, ptr: i32, len: i32) -> wasmtime::Result<()> {
    let response = read_guest_message(&mut caller, "__guest_response", ptr, len)?;
    caller.data_mut().guest_response = Some(response);
    Ok(())
}

/// `__guest_error(ptr, len)`: the guest's failure message.
fn guest_error(mut caller: Caller<'_, StoreState>, ptr: i32, len: i32) -> wasmtime::Result<()> {
    let error = read_guest_message(&mut caller, "__guest_error", ptr, len)?;
    caller.data_mut().guest_error = Some(error);
    Ok(())
}

/// `__host_call(bd_ptr, bd_len, ns_ptr, ns_len, op_ptr, op_len, ptr, len) -> 1 | 0`: the guest asks a host
/// capability. 1: the answer is ready for `__host_response`; 0: the error is ready for `__host_error`.
#[allow(clippy::too_many_arguments)] // the waPC ABI
fn host_call(
    mut caller: Caller<'_, StoreState>,
    binding_ptr: i32,
    binding_len: i32,
    namespace_ptr: i32,
    namespace_len: i32,
    operation_ptr: i32,
    operation_len: i32,
    payload_ptr: i32,
    payload_len: i32,
) -> wasmtime::Result<i32> {
    const FUNCTION: &str = "__host_call";
    if caller
        .data()
        .deadline
        .is_some_and(|deadline| Instant::now() >= deadline)
    {
        return Err(wasmtime::Error::new(DeadlinePassed));
    }
    let memory = exported_memory(&mut caller, FUNCTION)?;
    let data = memory.data(&caller);
    let key = CapabilityKey {
        binding: guest_str(data, FUNCTION, "binding", binding_ptr, binding_len)?,
        namespace: guest_str(data, FUNCTION, "namespace", namespace_ptr, namespace_len)?,
        operation: guest_str(data, FUNCTION, "operation", operation_ptr, operation_len)?,
    };
    let payload = guest_slice(data, FUNCTION, payload_ptr, payload_len)?.to_vec();

    let state = caller.data_mut();
    state.host_response.clear();
    state.host_error.clear();
    if (
        key.binding.as_str(),
        key.namespace.as_str(),
        key.operation.as_str(),
    ) != POLICY_LOG
    {
        state.capability_calls += 1;
    }
    let outcome = match state.capabilities.get(&key).cloned() {
        None => Err(format!(
            "host capability {key} is not served by host-harness"
        )),
        Some(handler) => {
            let started = Instant::now();
            // A capability is code outside this module; one that panics fails this call, not the harness.
            let outcome = catch_unwind(AssertUnwindSafe(|| handler.call(&payload)))
                .unwrap_or_else(|_| Err(format!("host capability {key} panicked")));
            // Only the handler's own time is given back: the guest's side of the call (its buffers, the
            // lookup) still counts, so a guest calling the host in a loop still runs out of time.
            let took = started.elapsed();
            state.in_capabilities += took;
            if let Some(deadline) = &mut state.deadline {
                *deadline += took;
            }
            outcome
        }
    };
    match outcome {
        Ok(answer) => {
            state.host_response = answer;
            Ok(1)
        }
        Err(message) => {
            if state.verbose {
                eprintln!("host call {key} failed: {message}");
            }
            state.host_error = message.into_bytes();
            Ok(0)
        }
    }
}

/// `__host_response(ptr)`: copy the last host call's answer into the guest.
fn host_response(mut caller: Caller<'_, StoreState>, ptr: i32) -> wasmtime::Result<()> {
    let memory = exported_memory(&mut caller, "__host_response")?;
    let (data, state) = memory.data_and_store_mut(&mut caller);
    copy_into_guest(data, "__host_response", ptr, &state.host_response)
}

/// `__host_response_len() -> len`.
fn host_response_len(caller: Caller<'_, StoreState>) -> i32 {
    wasm_len(caller.data().host_response.len())
}

/// `__host_error(ptr)`: copy the last host call's error into the guest.
fn host_error(mut caller: Caller<'_, StoreState>, ptr: i32) -> wasmtime::Result<()> {
    let memory = exported_memory(&mut caller, "__host_error")?;
    let (data, state) = memory.data_and_store_mut(&mut caller);
    copy_into_guest(data, "__host_error", ptr, &state.host_error)
}

/// `__host_error_len() -> len`.
fn host_error_len(caller: Caller<'_, StoreState>) -> i32 {
    wasm_len(caller.data().host_error.len())
}

/// `__console_log(ptr, len)`: a line the guest prints; shown with `--verbose`.
fn console_log(mut caller: Caller<'_, StoreState>, ptr: i32, len: i32) -> wasmtime::Result<()> {
    let memory = exported_memory(&mut caller, "__console_log")?;
    let line = guest_slice(memory.data(&caller), "__console_log", ptr, len)?;
    if caller.data().verbose {
        eprintln!("policy console: {}", String::from_utf8_lossy(line));
    }
    Ok(())
}

/// A host answer's length as the guest's `usize`. Answers come from our own capabilities and stay far below
/// 2 GiB; saturating keeps an absurd one from wrapping into a small length.
fn wasm_len(len: usize) -> i32 {
    u32::try_from(len).unwrap_or(u32::MAX) as i32
}

/// The guest's exported linear memory, which every waPC guest must export as `memory`.
fn exported_memory(
    caller: &mut Caller<'_, StoreState>,
    function: &str,
) -> wasmtime::Result<Memory> {
    if let Some(memory) = caller.data().guest_memory {
        return Ok(memory);
    }
    // Called from the module's start function, before the host could record the memory.
    match caller.get_export("memory") {
        Some(Extern::Memory(memory)) => Ok(memory),
        _ => Err(violation(format!(
            "{function} was called but the module exports no linear memory named `memory`"
        ))),
    }
}

/// The guest's `[ptr, ptr + len)`, checked against its memory.
fn guest_slice<'a>(
    data: &'a [u8],
    function: &str,
    ptr: i32,
    len: i32,
) -> wasmtime::Result<&'a [u8]> {
    // wasm32 pointers and lengths are unsigned 32-bit values carried in i32s.
    let (start, length) = (ptr as u32 as usize, len as u32 as usize);
    start
        .checked_add(length)
        .and_then(|end| data.get(start..end))
        .ok_or_else(|| out_of_bounds(function, start, length, data.len()))
}

/// The guest's `[ptr, ptr + bytes.len())` overwritten with `bytes`, checked against its memory.
fn copy_into_guest(
    data: &mut [u8],
    function: &str,
    ptr: i32,
    bytes: &[u8],
) -> wasmtime::Result<()> {
    let start = ptr as u32 as usize;
    let memory_size = data.len();
    let target = start
        .checked_add(bytes.len())
        .and_then(|end| data.get_mut(start..end))
        .ok_or_else(|| out_of_bounds(function, start, bytes.len(), memory_size))?;
    target.copy_from_slice(bytes);
    Ok(())
}

/// A name the guest passes to `__host_call`, which must be UTF-8.
fn guest_str(
    data: &[u8],
    function: &str,
    what: &str,
    ptr: i32,
    len: i32,
) -> wasmtime::Result<String> {
    let bytes = guest_slice(data, function, ptr, len)?;
    String::from_utf8(bytes.to_vec()).map_err(|_| {
        violation(format!(
            "{function} was passed a {what} that is not UTF-8: {:?}",
            String::from_utf8_lossy(bytes)
        ))
    })
}

/// A message the guest hands back, bounds-checked and capped at [`MAX_GUEST_MESSAGE_BYTES`].
fn read_guest_message(
    caller: &mut Caller<'_, StoreState>,
    function: &str,
    ptr: i32,
    len: i32,
) -> wasmtime::Result<Vec<u8>> {
    let length = len as u32 as usize;
    if length > MAX_GUEST_MESSAGE_BYTES {
        return Err(violation(format!(
            "{function} was passed a {length}-byte message; the limit is {} MiB",
            MAX_GUEST_MESSAGE_BYTES / (1024 * 1024)
        )));
    }
    let memory = exported_memory(caller, function)?;
    Ok(guest_slice(memory.data(&*caller), function, ptr, len)?.to_vec())
}

fn out_of_bounds(
    function: &str,
    start: usize,
    length: usize,
    memory_size: usize,
) -> wasmtime::Error {
    violation(format!(
        "{function} was passed the buffer [{start:#x}, {start:#x} + {length}) outside the guest's {memory_size}-byte memory"
    ))
}

fn violation(message: String) -> wasmtime::Error {
    wasmtime::Error::new(GuestViolation(message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_inside_memory_are_returned() {
        let data = [1u8, 2, 3, 4];
        assert_eq!(guest_slice(&data, "f", 1, 2).unwrap(), &[2, 3]);
        assert_eq!(guest_slice(&data, "f", 4, 0).unwrap(), &[] as &[u8]);
        assert_eq!(guest_slice(&data, "f", 0, 4).unwrap(), &data);
    }

    #[test]
    fn slices_outside_memory_are_violations_even_when_the_sum_wraps() {
        let data = [0u8; 16];
        for (ptr, len) in [
            (15, 2),
            (16, 1),
            (-1, 1),
            (1, -1),
            (i32::MAX, i32::MAX),
            (-16, 32),
        ] {
            let error = guest_slice(&data, "__guest_response", ptr, len).unwrap_err();
            let violation = error
                .downcast_ref::<GuestViolation>()
                .expect("a GuestViolation");
            assert!(violation.0.contains("__guest_response"), "{}", violation.0);
            assert!(violation.0.contains("16-byte memory"), "{}", violation.0);
        }
    }

    #[test]
    fn copies_are_bounds_checked() {
        let mut data = [0u8; 8];
        copy_into_guest(&mut data, "f", 6, &[7, 7]).unwrap();
        assert_eq!(data, [0, 0, 0, 0, 0, 0, 7, 7]);
        assert!(copy_into_guest(&mut data, "f", 7, &[1, 2]).is_err());
        assert!(copy_into_guest(&mut data, "f", -1, &[1]).is_err());
        assert_eq!(data, [0, 0, 0, 0, 0, 0, 7, 7]);
    }

    #[test]
    fn host_answer_lengths_saturate_instead_of_wrapping() {
        assert_eq!(wasm_len(5), 5);
        assert_eq!(wasm_len(u32::MAX as usize + 10), -1);
    }
}
