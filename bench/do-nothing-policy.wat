;; A waPC policy that does nothing: it accepts any settings and any request without reading them. bench/compare.sh
;; runs it through `host-harness bench` beside policy.wasm, so the table shows what a fresh instance costs on its own
;; in this host (store, instantiation, `wapc_init`, the call, the memory reset), with no rule to run.
;;
;; Its memory starts at two pages, 128 KiB, as policy.wasm's does (policy/memory_layout.rs): resetting a slot's
;; memory after each instance is part of that cost, and it grows with the memory's size.
(module
  (import "wapc" "__guest_request" (func $guest_request (param i32 i32)))
  (import "wapc" "__guest_response" (func $guest_response (param i32 i32)))
  (memory (export "memory") 2)
  (data (i32.const 0) "{\"accepted\":true}")
  (data (i32.const 32) "{\"valid\":true}")
  (func (export "wapc_init"))
  (func (export "__guest_call") (param $operation_len i32) (param $payload_len i32) (result i32)
    ;; Take the request as every waPC guest must: the operation's name at 1024, the payload after it.
    (call $guest_request (i32.const 1024) (i32.add (i32.const 1024) (local.get $operation_len)))
    ;; "validate_settings" is the only operation 17 bytes long.
    (if (i32.eq (local.get $operation_len) (i32.const 17))
      (then
        (call $guest_response (i32.const 32) (i32.const 14))
        (return (i32.const 1))))
    (call $guest_response (i32.const 0) (i32.const 17))
    (i32.const 1)))
