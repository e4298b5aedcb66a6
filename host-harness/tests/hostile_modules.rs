//! Hostile and broken waPC guests, written as WAT: each must end in its documented [`EvaluationError`]
//! (a runaway guest in [`EvaluationError::Timeout`], the deadline's own error), and leave the [`PolicyHost`] able to
//! evaluate again.
//!
//! Every guest built with [`guest`] answers `protocol_version` properly (with `"v1"`) and misbehaves only on
//! the other operations, so each test can check that a good evaluation still works right after a bad one.
//!
//! No test times an evaluation: how late past its deadline a guest is stopped depends on the machine's load, and the
//! figures belong to the benchmarks. A deadline that never fires would hang its test instead; the watchdog turns that
//! into a failure.

mod watchdog;

use std::sync::Arc;
use std::time::Duration;

use host_harness::host::{
    Capabilities, EvaluationError, HostCapability, HostOptions, MAX_GUEST_MESSAGE_BYTES, PolicyHost,
};
use serde_json::json;

/// The deadline the hostile tests run under: short, so the suite is quick.
const DEADLINE: Duration = Duration::from_millis(300);

/// A waPC guest module. `validate_body` is the body of the handler for every operation other than
/// `protocol_version`; it runs with `$op_len` and `$msg_len` in scope and must leave an i32 (1 success,
/// 0 failure) on the stack. `extra` adds module fields (functions, data, globals, exports).
///
/// Memory layout: 0..64 holds constant strings, 1024.. the operation name, 4096.. the message.
fn guest(validate_body: &str, extra: &str) -> String {
    format!(
        r#"(module
  (import "wapc" "__guest_request" (func $guest_request (param i32 i32)))
  (import "wapc" "__guest_response" (func $guest_response (param i32 i32)))
  (import "wapc" "__guest_error" (func $guest_error (param i32 i32)))
  (import "wapc" "__host_call" (func $host_call (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wapc" "__host_response_len" (func $host_response_len (result i32)))
  (import "wapc" "__host_response" (func $host_response (param i32)))
  (import "wapc" "__host_error_len" (func $host_error_len (result i32)))
  (import "wapc" "__host_error" (func $host_error (param i32)))
  (import "wapc" "__console_log" (func $console_log (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "\"v1\"")
  (func (export "__guest_call") (param $op_len i32) (param $msg_len i32) (result i32)
    (call $guest_request (i32.const 1024) (i32.const 4096))
    ;; "protocol_version" is the only operation name 16 bytes long.
    (if (i32.eq (local.get $op_len) (i32.const 16))
      (then (call $guest_response (i32.const 0) (i32.const 4)) (return (i32.const 1))))
    {validate_body})
  {extra}
)"#
    )
}

fn options() -> HostOptions {
    HostOptions {
        timeout: Some(DEADLINE),
        cache: false,
        ..HostOptions::default()
    }
}

fn host(wat: impl AsRef<str>) -> PolicyHost {
    host_with(wat.as_ref(), options())
}

fn host_with(wat: &str, options: HostOptions) -> PolicyHost {
    // Several of these guests never end by themselves: only the deadline stops them.
    watchdog::arm();
    PolicyHost::from_bytes(wat.as_bytes(), options).expect("the test module loads")
}

/// Runs `validate` on `host` and returns its error, checking that the host still answers a good call afterwards.
fn validate_error(host: &PolicyHost) -> EvaluationError {
    let outcome = host.validate(&json!({"uid": "1", "operation": "CREATE"}), &json!({}));
    let error = outcome.expect_err("the hostile guest must not produce a verdict");
    assert_eq!(
        host.protocol_version()
            .expect("the host still evaluates after a failure"),
        "v1"
    );
    error
}

/// The error twice in a row: the second evaluation must fail the same way (no state carried over).
fn validate_error_twice(host: &PolicyHost) -> EvaluationError {
    let first = validate_error(host);
    let second = validate_error(host);
    assert_eq!(
        first, second,
        "a fresh instance must behave exactly like the first"
    );
    first
}

#[test]
fn an_infinite_loop_times_out_at_the_deadline() {
    let host = host(guest("(loop $forever (br $forever)) (i32.const 1)", ""));
    assert_eq!(
        validate_error_twice(&host),
        EvaluationError::Timeout { limit: DEADLINE }
    );
    let message = validate_error(&host).to_string();
    assert!(message.contains("0.3s deadline"), "{message}");
}

#[test]
fn an_infinite_loop_in_initialisation_times_out_too() {
    let wat = r#"(module
      (memory (export "memory") 1)
      (func (export "wapc_init") (loop $forever (br $forever)))
      (func (export "__guest_call") (param i32 i32) (result i32) (i32.const 1)))"#;
    let host = host(wat);
    let error = host.protocol_version().unwrap_err();
    assert_eq!(error, EvaluationError::Timeout { limit: DEADLINE });
}

#[test]
fn a_guest_calling_the_host_in_a_loop_times_out() {
    // Logs `{}` through kubewarden/tracing/log forever: every host call succeeds, the loop never ends.
    let body = r#"
      (loop $forever
        (drop (call $host_call (i32.const 16) (i32.const 10) (i32.const 26) (i32.const 7)
                               (i32.const 33) (i32.const 3) (i32.const 36) (i32.const 2)))
        (br $forever))
      (i32.const 1)"#;
    let host = host(guest(
        body,
        r#"(data (i32.const 16) "kubewardentracinglog{}")"#,
    ));
    assert_eq!(
        validate_error_twice(&host),
        EvaluationError::Timeout { limit: DEADLINE }
    );
}

#[test]
fn without_a_timeout_a_slow_guest_is_let_finish() {
    // 600 million steps of a multiply-add chain (each waits for the previous one): about a second here, well
    // past the deadline. Under the deadline it is cut off; without one it runs to the end.
    let slow = r#"(func $slow (local $left i64) (local $x i64)
      (local.set $left (i64.const 600000000))
      (loop $step
        (local.set $x (i64.add (i64.mul (local.get $x) (i64.const 6364136223846793005)) (i64.const 1)))
        (local.set $left (i64.sub (local.get $left) (i64.const 1)))
        (br_if $step (i64.ne (local.get $left) (i64.const 0))))
      (i64.store (i32.const 64) (local.get $x)))"#;
    let wat = guest(
        "(call $slow) (call $guest_response (i32.const 0) (i32.const 4)) (i32.const 1)",
        slow,
    );
    let timed = host(&wat);
    assert_eq!(
        timed.call("validate", Vec::new()),
        Err(EvaluationError::Timeout { limit: DEADLINE })
    );
    let untimed = host_with(
        &wat,
        HostOptions {
            timeout: None,
            ..options()
        },
    );
    assert_eq!(untimed.call("validate", Vec::new()).unwrap(), b"\"v1\"");
}

#[test]
fn a_memory_growth_bomb_hits_the_memory_limit() {
    // Grows by 1 MiB until memory.grow fails, then traps, as Rust's allocator would. From one page, the
    // growth that crosses 16 MiB asks for 16 MiB + 64 KiB.
    let body = r#"
      (loop $grow
        (br_if $grow (i32.ne (memory.grow (i32.const 16)) (i32.const -1))))
      unreachable"#;
    let limit = 16 * 1024 * 1024;
    let host = host_with(
        &guest(body, ""),
        HostOptions {
            memory_limit_bytes: limit,
            ..options()
        },
    );
    let error = validate_error_twice(&host);
    assert_eq!(
        error,
        EvaluationError::MemoryLimit {
            limit_bytes: limit,
            requested_bytes: limit + 65536
        }
    );
    assert_eq!(
        error.to_string(),
        "the policy exceeded the memory limit: it asked for 17 MiB, the limit is 16 MiB"
    );
}

#[test]
fn growth_within_the_limit_is_allowed() {
    let body = r#"
      (drop (memory.grow (i32.const 100)))
      (i32.store8 (i32.const 6553000) (i32.const 1))
      (call $guest_response (i32.const 0) (i32.const 4))
      (i32.const 1)"#;
    let host = host_with(
        &guest(body, ""),
        HostOptions {
            memory_limit_bytes: 16 * 1024 * 1024,
            ..options()
        },
    );
    assert_eq!(host.call("validate", Vec::new()).unwrap(), b"\"v1\"");
}

#[test]
fn a_module_declaring_more_memory_than_the_limit_cannot_instantiate() {
    let wat = r#"(module
      (memory (export "memory") 300)
      (func (export "__guest_call") (param i32 i32) (result i32) (i32.const 1)))"#;
    let limit = 16 * 1024 * 1024;
    let host = host_with(
        wat,
        HostOptions {
            memory_limit_bytes: limit,
            ..options()
        },
    );
    let error = host.protocol_version().unwrap_err();
    assert_eq!(
        error,
        EvaluationError::MemoryLimit {
            limit_bytes: limit,
            requested_bytes: 300 * 65536
        }
    );
}

#[test]
fn an_unreachable_instruction_is_a_trap() {
    let host = host(guest("unreachable", ""));
    let error = validate_error_twice(&host);
    let EvaluationError::Trap { operation, message } = &error else {
        panic!("expected a trap, got {error:?}")
    };
    assert_eq!(operation, "validate");
    assert!(message.contains("unreachable"), "{message}");
}

#[test]
fn unbounded_recursion_is_a_stack_overflow_trap() {
    let extra = r#"(func $deeper (param i32) (result i32) (call $deeper (i32.add (local.get 0) (i32.const 1))))"#;
    let host = host(guest("(call $deeper (i32.const 0))", extra));
    let error = validate_error_twice(&host);
    let EvaluationError::Trap { message, .. } = &error else {
        panic!("expected a trap, got {error:?}")
    };
    assert!(message.contains("call stack exhausted"), "{message}");
}

#[test]
fn a_trap_in_start_is_reported() {
    let wat = r#"(module
      (memory (export "memory") 1)
      (func (export "_start") (i32.div_u (i32.const 1) (i32.const 0)) drop)
      (func (export "__guest_call") (param i32 i32) (result i32) (i32.const 1)))"#;
    let error = host(wat).protocol_version().unwrap_err();
    let EvaluationError::Trap { message, .. } = &error else {
        panic!("expected a trap, got {error:?}")
    };
    assert!(message.contains("divide by zero"), "{message}");
}

#[test]
fn a_non_json_response_is_a_bad_response_quoting_it() {
    let host = host(guest(
        "(call $guest_response (i32.const 16) (i32.const 11)) (i32.const 1)",
        r#"(data (i32.const 16) "hello world")"#,
    ));
    let error = validate_error_twice(&host);
    let EvaluationError::BadResponse { operation, reason } = &error else {
        panic!("expected BadResponse, got {error:?}")
    };
    assert_eq!(operation, "validate");
    assert!(reason.contains("\"hello world\""), "{reason}");
}

#[test]
fn json_of_the_wrong_shape_is_a_bad_response() {
    let host = host(guest(
        "(call $guest_response (i32.const 16) (i32.const 14)) (i32.const 1)",
        r#"(data (i32.const 16) "{\"valid\":true}")"#,
    ));
    let error = validate_error(&host);
    let EvaluationError::BadResponse { reason, .. } = &error else {
        panic!("expected BadResponse, got {error:?}")
    };
    assert!(reason.contains("accepted"), "{reason}");
}

#[test]
fn a_huge_response_inside_memory_is_refused_quoting_only_its_start() {
    // 32 MiB of 'x', well inside a 64 MiB memory and under the message cap: read, then refused as non-JSON,
    // with an error message of bounded size.
    let body = r#"
      (drop (memory.grow (i32.const 1024)))
      (memory.fill (i32.const 65536) (i32.const 120) (i32.const 33554432))
      (call $guest_response (i32.const 65536) (i32.const 33554432))
      (i32.const 1)"#;
    let host = host_with(
        &guest(body, ""),
        HostOptions {
            timeout: Some(Duration::from_secs(5)),
            ..options()
        },
    );
    let error = host.validate(&json!({}), &json!({})).unwrap_err();
    let EvaluationError::BadResponse { reason, .. } = &error else {
        panic!("expected BadResponse, got {error:?}")
    };
    assert!(reason.contains("33554432 bytes"), "{reason}");
    assert!(
        error.to_string().len() < 1024,
        "the error quotes too much: {} bytes",
        error.to_string().len()
    );
    assert_eq!(host.protocol_version().unwrap(), "v1");
}

#[test]
fn a_response_claiming_gigabytes_is_a_protocol_violation() {
    // len = 0xFFFFFFFF: four gigabytes, far beyond both the message cap and the guest's one-page memory.
    let host = host(guest(
        "(call $guest_response (i32.const 0) (i32.const -1)) (i32.const 1)",
        "",
    ));
    let error = validate_error_twice(&host);
    let EvaluationError::ProtocolViolation { message, .. } = &error else {
        panic!("expected a violation, got {error:?}")
    };
    assert!(message.contains("__guest_response"), "{message}");
    assert!(
        message.contains(&format!("limit is {} MiB", MAX_GUEST_MESSAGE_BYTES >> 20)),
        "{message}"
    );
}

#[test]
fn out_of_bounds_pointers_to_guest_response_are_protocol_violations() {
    // One page is 65536 bytes: a buffer at its last bytes that runs past the end, and one that starts past it.
    for (ptr, len) in [(65530, 100), (65536, 1), (-8, 16)] {
        let body =
            format!("(call $guest_response (i32.const {ptr}) (i32.const {len})) (i32.const 1)");
        let host = host(guest(&body, ""));
        let error = validate_error_twice(&host);
        let EvaluationError::ProtocolViolation { operation, message } = &error else {
            panic!("expected a violation, got {error:?}")
        };
        assert_eq!(operation, "validate");
        assert!(
            message.contains("__guest_response") && message.contains("65536-byte memory"),
            "{message}"
        );
    }
}

#[test]
fn out_of_bounds_pointers_to_every_other_import_are_protocol_violations() {
    let cases = [
        (
            "__guest_error",
            "(call $guest_error (i32.const 65535) (i32.const 2)) (i32.const 0)",
        ),
        (
            "__console_log",
            "(call $console_log (i32.const 70000) (i32.const 1)) (i32.const 1)",
        ),
        (
            "__host_call",
            "(drop (call $host_call (i32.const 65530) (i32.const 10) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0))) (i32.const 1)",
        ),
        (
            "__host_call",
            "(drop (call $host_call (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 65000) (i32.const 1000))) (i32.const 1)",
        ),
        // The unknown capability "" leaves an error message behind; copying it to the end of memory fails.
        (
            "__host_error",
            "(drop (call $host_call (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0))) (call $host_error (i32.const 65535)) (i32.const 1)",
        ),
    ];
    for (function, body) in cases {
        let error = validate_error(&host(guest(body, "")));
        let EvaluationError::ProtocolViolation { message, .. } = &error else {
            panic!("{function}: expected a violation, got {error:?}")
        };
        assert!(message.contains(function), "{message}");
    }
}

#[test]
fn a_guest_request_into_a_buffer_past_memory_is_a_protocol_violation() {
    let wat = r#"(module
      (import "wapc" "__guest_request" (func $guest_request (param i32 i32)))
      (memory (export "memory") 1)
      (func (export "__guest_call") (param i32 i32) (result i32)
        (call $guest_request (i32.const 65535) (i32.const 0)) (i32.const 1)))"#;
    let error = host(wat).protocol_version().unwrap_err();
    let EvaluationError::ProtocolViolation { message, .. } = &error else {
        panic!("expected a violation, got {error:?}")
    };
    assert!(message.contains("__guest_request"), "{message}");
}

#[test]
fn missing_exports_are_named() {
    let without_guest_call = r#"(module (memory (export "memory") 1))"#;
    let host = host(without_guest_call);
    let expected = EvaluationError::MissingExport {
        name: "__guest_call".into(),
    };
    assert_eq!(host.protocol_version(), Err(expected.clone()));
    assert_eq!(host.validate(&json!({}), &json!({})).unwrap_err(), expected);

    let without_memory =
        r#"(module (func (export "__guest_call") (param i32 i32) (result i32) (i32.const 1)))"#;
    assert_eq!(
        self::host(without_memory).protocol_version(),
        Err(EvaluationError::MissingExport {
            name: "memory".into()
        })
    );

    let wrong_signature = r#"(module (memory (export "memory") 1) (func (export "__guest_call") (param i32) (result i32) (i32.const 1)))"#;
    assert_eq!(
        self::host(wrong_signature).protocol_version(),
        Err(EvaluationError::MissingExport {
            name: "__guest_call".into()
        })
    );
}

#[test]
fn an_unknown_capability_gives_the_guest_a_host_error_naming_it() {
    // Calls kubewarden/oci/v1/nope, then hands the host's error back as its own (__guest_error).
    let body = r#"
      (if (i32.eqz (call $host_call (i32.const 16) (i32.const 10) (i32.const 26) (i32.const 3)
                                    (i32.const 29) (i32.const 7) (i32.const 36) (i32.const 2)))
        (then
          (call $host_error (i32.const 8192))
          (call $guest_error (i32.const 8192) (call $host_error_len))
          (return (i32.const 0))))
      (i32.const 1)"#;
    let host = host(guest(
        body,
        r#"(data (i32.const 16) "kubewardenociv1/nope{}")"#,
    ));
    let error = validate_error_twice(&host);
    assert_eq!(
        error,
        EvaluationError::Guest {
            operation: "validate".into(),
            message: "host capability kubewarden/oci/v1/nope is not served by host-harness".into()
        }
    );
}

/// A capability that answers with a fixed prefix and the payload it was sent.
struct Greeter;
impl HostCapability for Greeter {
    fn call(&self, payload: &[u8]) -> Result<Vec<u8>, String> {
        Ok([b"hello ".as_slice(), payload].concat())
    }
}

/// A capability that always fails, and one that panics.
struct Refuser;
impl HostCapability for Refuser {
    fn call(&self, _payload: &[u8]) -> Result<Vec<u8>, String> {
        Err("registry unreachable".into())
    }
}
struct Panicker;
impl HostCapability for Panicker {
    fn call(&self, _payload: &[u8]) -> Result<Vec<u8>, String> {
        panic!("a bug in a capability")
    }
}

/// Calls test/caps/op with payload `world`, answering with the host's response (or failing with its error).
const RELAY_HOST_CALL: &str = r#"
      (if (i32.eqz (call $host_call (i32.const 16) (i32.const 4) (i32.const 20) (i32.const 4)
                                    (i32.const 24) (i32.const 2) (i32.const 26) (i32.const 5)))
        (then
          (call $host_error (i32.const 8192))
          (call $guest_error (i32.const 8192) (call $host_error_len))
          (return (i32.const 0))))
      (call $host_response (i32.const 8192))
      (call $guest_response (i32.const 8192) (call $host_response_len))
      (i32.const 1)"#;
const RELAY_DATA: &str = r#"(data (i32.const 16) "testcapsopworld")"#;

fn relay_host(handler: Arc<dyn HostCapability>) -> PolicyHost {
    let mut capabilities = Capabilities::new();
    capabilities.register("test", "caps", "op", handler);
    host_with(
        &guest(RELAY_HOST_CALL, RELAY_DATA),
        HostOptions {
            capabilities,
            ..options()
        },
    )
}

#[test]
fn a_registered_capability_answers_through_host_response() {
    let host = relay_host(Arc::new(Greeter));
    assert_eq!(host.call("validate", Vec::new()).unwrap(), b"hello world");
    assert_eq!(host.call("validate", Vec::new()).unwrap(), b"hello world");
}

#[test]
fn a_failing_capability_reaches_the_guest_as_a_host_error() {
    let error = relay_host(Arc::new(Refuser))
        .call("validate", Vec::new())
        .unwrap_err();
    assert_eq!(
        error,
        EvaluationError::Guest {
            operation: "validate".into(),
            message: "registry unreachable".into()
        }
    );
}

#[test]
fn a_panicking_capability_reaches_the_guest_as_a_host_error() {
    let host = relay_host(Arc::new(Panicker));
    let error = host.call("validate", Vec::new()).unwrap_err();
    assert_eq!(
        error,
        EvaluationError::Guest {
            operation: "validate".into(),
            message: "host capability test/caps/op panicked".into()
        }
    );
    assert_eq!(host.protocol_version().unwrap(), "v1");
}

/// A capability that takes longer than the deadline (as a slow registry may, within its own timeout) and answers.
struct SlowCapability;
const SLOW_CAPABILITY_TAKES: Duration = Duration::from_millis(700);
impl HostCapability for SlowCapability {
    fn call(&self, _payload: &[u8]) -> Result<Vec<u8>, String> {
        std::thread::sleep(SLOW_CAPABILITY_TAKES);
        Ok(b"slept".to_vec())
    }
}

/// Calls test/caps/op, then runs a loop of a thousand rounds (each back-edge an epoch check, where an evaluation past
/// its deadline is interrupted), then answers with the host's response.
const RELAY_AFTER_A_LOOP: &str = r#"
      (drop (call $host_call (i32.const 16) (i32.const 4) (i32.const 20) (i32.const 4)
                             (i32.const 24) (i32.const 2) (i32.const 26) (i32.const 5)))
      (loop $again
        (global.set $rounds (i32.add (global.get $rounds) (i32.const 1)))
        (br_if $again (i32.lt_u (global.get $rounds) (i32.const 1000))))
      (call $host_response (i32.const 8192))
      (call $guest_response (i32.const 8192) (call $host_response_len))
      (i32.const 1)"#;

#[test]
fn time_inside_a_host_capability_does_not_count_against_the_deadline() {
    // The deadline guards against runaway guest code; each capability bounds its own time. The capability alone
    // outlasts the deadline, so were its time counted, the guest's loop after it would be interrupted: the answer
    // comes only if the deadline moved on by the capability's time.
    assert!(SLOW_CAPABILITY_TAKES > DEADLINE);
    let mut capabilities = Capabilities::new();
    capabilities.register("test", "caps", "op", Arc::new(SlowCapability));
    let host = host_with(
        &guest(
            RELAY_AFTER_A_LOOP,
            &format!("{RELAY_DATA} (global $rounds (mut i32) (i32.const 0))"),
        ),
        HostOptions {
            capabilities,
            ..options()
        },
    );
    assert_eq!(host.call("validate", Vec::new()).unwrap(), b"slept");
}

#[test]
fn a_guest_looping_after_a_slow_host_call_still_times_out() {
    let body = r#"
      (drop (call $host_call (i32.const 16) (i32.const 4) (i32.const 20) (i32.const 4)
                             (i32.const 24) (i32.const 2) (i32.const 26) (i32.const 5)))
      (loop $forever (br $forever))
      (i32.const 1)"#;
    let mut capabilities = Capabilities::new();
    capabilities.register("test", "caps", "op", Arc::new(SlowCapability));
    let host = host_with(
        &guest(body, RELAY_DATA),
        HostOptions {
            capabilities,
            ..options()
        },
    );
    // The deadline moved on by the host call's time (see the test above), and still ends the loop after it.
    assert_eq!(
        host.call("validate", Vec::new()).unwrap_err(),
        EvaluationError::Timeout { limit: DEADLINE }
    );
}

#[test]
fn a_guest_error_is_reported_with_its_message() {
    let host = host(guest(
        "(call $guest_error (i32.const 16) (i32.const 9)) (i32.const 0)",
        r#"(data (i32.const 16) "bad input")"#,
    ));
    assert_eq!(
        validate_error(&host),
        EvaluationError::Guest {
            operation: "validate".into(),
            message: "bad input".into()
        }
    );
}

#[test]
fn success_without_a_response_and_odd_return_codes_are_bad_responses() {
    for body in ["(i32.const 1)", "(i32.const 7)"] {
        let error = validate_error(&host(guest(body, "")));
        assert!(
            matches!(error, EvaluationError::BadResponse { .. }),
            "{body}: {error:?}"
        );
    }
}

#[test]
fn every_evaluation_gets_a_fresh_instance_after_wapc_init() {
    // wapc_init sets the counter to 100; each call increments it and answers with it as a three-digit
    // JSON number. A reused instance would answer 102, 103…
    let wat = r#"(module
      (import "wapc" "__guest_response" (func $guest_response (param i32 i32)))
      (memory (export "memory") 1)
      (global $counter (mut i32) (i32.const 0))
      (func (export "wapc_init") (global.set $counter (i32.const 100)))
      (func (export "__guest_call") (param i32 i32) (result i32)
        (global.set $counter (i32.add (global.get $counter) (i32.const 1)))
        ;; Write the three ASCII digits of the counter (always 101 here).
        (i32.store8 (i32.const 0) (i32.add (i32.const 48) (i32.div_u (global.get $counter) (i32.const 100))))
        (i32.store8 (i32.const 1) (i32.add (i32.const 48) (i32.rem_u (i32.div_u (global.get $counter) (i32.const 10)) (i32.const 10))))
        (i32.store8 (i32.const 2) (i32.add (i32.const 48) (i32.rem_u (global.get $counter) (i32.const 10))))
        (call $guest_response (i32.const 0) (i32.const 3))
        (i32.const 1)))"#;
    let host = host(wat);
    for _ in 0..5 {
        assert_eq!(host.call("validate", Vec::new()).unwrap(), b"101");
    }
}

#[test]
fn the_host_evaluates_from_many_threads_at_once() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<PolicyHost>();

    let host = host(guest(
        "(call $guest_response (i32.const 0) (i32.const 4)) (i32.const 1)",
        "",
    ));
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                for _ in 0..50 {
                    assert_eq!(host.call("validate", Vec::new()).unwrap(), b"\"v1\"");
                }
            });
        }
    });
}

#[test]
fn the_operation_and_message_reach_the_guest() {
    // Echoes the message it was given.
    let host = host(guest(
        "(call $guest_response (i32.const 4096) (local.get $msg_len)) (i32.const 1)",
        "",
    ));
    let payload = br#"{"request":{"uid":"x"}}"#.to_vec();
    assert_eq!(host.call("validate", payload.clone()).unwrap(), payload);
    // And the operation name: answer with the bytes at 1024.
    let host = self::host(guest(
        "(call $guest_response (i32.const 1024) (local.get $op_len)) (i32.const 1)",
        "",
    ));
    assert_eq!(
        host.call("validate_settings", Vec::new()).unwrap(),
        b"validate_settings"
    );
}

#[test]
fn a_module_importing_something_unknown_fails_to_load_naming_it() {
    let wat = r#"(module (import "env" "launch_missiles" (func)) (memory (export "memory") 1))"#;
    let error = PolicyHost::from_bytes(wat.as_bytes(), options())
        .err()
        .expect("loading must fail");
    let message = format!("{error:#}");
    assert!(message.contains("env::launch_missiles"), "{message}");
}

#[test]
fn garbage_is_not_a_module() {
    let error = PolicyHost::from_bytes(b"\x7fELF not wasm", options())
        .err()
        .expect("loading must fail");
    assert!(
        format!("{error:#}").contains("not a WebAssembly module"),
        "{error:#}"
    );
    let error = PolicyHost::from_bytes(b"(module (func $f (unknown_instruction)))", options())
        .err()
        .expect("loading must fail");
    assert!(
        format!("{error:#}").contains("WAT text that does not parse"),
        "{error:#}"
    );
}

#[test]
fn a_wasi_module_gets_no_arguments_environment_or_directories() {
    // A wasip1-style guest: _start exits with proc_exit(0); each call reports how many arguments and
    // environment variables it sees and whether file descriptor 3 is a preopened directory.
    let wat = r#"(module
      (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "environ_sizes_get" (func $environ_sizes_get (param i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "fd_prestat_get" (func $fd_prestat_get (param i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
      (import "wapc" "__guest_response" (func $guest_response (param i32 i32)))
      (memory (export "memory") 1)
      (func (export "_start") (call $proc_exit (i32.const 0)))
      (func (export "__guest_call") (param i32 i32) (result i32)
        (drop (call $args_sizes_get (i32.const 100) (i32.const 104)))
        (drop (call $environ_sizes_get (i32.const 108) (i32.const 112)))
        ;; "[a,e,p]": argument count, environment count, fd 3's errno (8 = EBADF: no such preopen).
        (i32.store8 (i32.const 0) (i32.const 91))
        (i32.store8 (i32.const 1) (i32.add (i32.const 48) (i32.load (i32.const 100))))
        (i32.store8 (i32.const 2) (i32.const 44))
        (i32.store8 (i32.const 3) (i32.add (i32.const 48) (i32.load (i32.const 108))))
        (i32.store8 (i32.const 4) (i32.const 44))
        (i32.store8 (i32.const 5) (i32.add (i32.const 48) (call $fd_prestat_get (i32.const 3) (i32.const 200))))
        (i32.store8 (i32.const 6) (i32.const 93))
        (call $guest_response (i32.const 0) (i32.const 7))
        (i32.const 1)))"#;
    let host = host(wat);
    assert_eq!(host.call("validate", Vec::new()).unwrap(), b"[0,0,8]");
}

#[test]
fn a_wasi_start_exiting_with_an_error_is_reported() {
    let wat = r#"(module
      (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
      (memory (export "memory") 1)
      (func (export "_start") (call $proc_exit (i32.const 3)))
      (func (export "__guest_call") (param i32 i32) (result i32) (i32.const 1)))"#;
    let error = host(wat).protocol_version().unwrap_err();
    let EvaluationError::Trap { message, .. } = &error else {
        panic!("expected a trap, got {error:?}")
    };
    assert!(message.contains("exited with status 3"), "{message}");
}
