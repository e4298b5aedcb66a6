//! What the built module imports and exports: exactly what a Kubewarden waPC host provides and expects; and the memory
//! it starts with (policy/memory_layout.rs).

use wasmparser::{ExternalKind, Operator, Parser, Payload, TypeRef};

use crate::support::{policy_host, policy_wasm};

struct ModuleShape {
    imports: Vec<(String, String, bool)>,
    exports: Vec<String>,
    /// The first memory's size at instantiation.
    initial_memory_bytes: Option<u64>,
    /// The constant values of the module's globals, by index (`None`: not a constant).
    globals: Vec<Option<i64>>,
    /// The global the module exports as `__heap_base`.
    heap_base_global: Option<u32>,
}

impl ModuleShape {
    fn heap_base(&self) -> Option<i64> {
        self.globals.get(self.heap_base_global? as usize).copied()?
    }
}

fn module_shape() -> ModuleShape {
    let bytes = std::fs::read(policy_wasm()).expect("policy.wasm is readable");
    let mut shape = ModuleShape {
        imports: Vec::new(),
        exports: Vec::new(),
        initial_memory_bytes: None,
        globals: Vec::new(),
        heap_base_global: None,
    };
    for payload in Parser::new(0).parse_all(&bytes) {
        match payload.expect("policy.wasm is a valid module") {
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import.expect("import entry");
                    let is_function = matches!(import.ty, TypeRef::Func(_));
                    shape.imports.push((
                        import.module.to_string(),
                        import.name.to_string(),
                        is_function,
                    ));
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export.expect("export entry");
                    if export.name == "__heap_base" && export.kind == ExternalKind::Global {
                        shape.heap_base_global = Some(export.index);
                    }
                    shape.exports.push(export.name.to_string());
                }
            }
            Payload::MemorySection(reader) => {
                if let Some(memory) = reader.into_iter().next() {
                    let memory = memory.expect("memory entry");
                    shape.initial_memory_bytes = Some(memory.initial << 16);
                }
            }
            Payload::GlobalSection(reader) => {
                for global in reader {
                    let global = global.expect("global entry");
                    let mut init = global.init_expr.get_operators_reader();
                    shape.globals.push(match init.read() {
                        Ok(Operator::I32Const { value }) => Some(i64::from(value)),
                        _ => None,
                    });
                }
            }
            _ => {}
        }
    }
    shape
}

#[test]
fn imports_only_wapc_functions() {
    let shape = module_shape();
    assert!(
        !shape.imports.is_empty(),
        "a waPC guest imports the wapc host functions"
    );
    for (module, name, is_function) in &shape.imports {
        assert_eq!(module, "wapc", "unexpected import {module}.{name}");
        assert!(is_function, "wapc.{name} should be a function import");
    }
}

#[test]
fn exports_the_wapc_entry_points() {
    let shape = module_shape();
    for required in ["wapc_init", "__guest_call"] {
        assert!(
            shape.exports.iter().any(|name| name == required),
            "missing export {required}: {:?}",
            shape.exports
        );
    }
}

#[test]
fn size_is_within_budget() {
    let size = std::fs::metadata(policy_wasm())
        .expect("policy.wasm exists")
        .len();
    println!(
        "policy.wasm: {size} bytes ({:.1} KiB)",
        size as f64 / 1024.0
    );
    assert!(
        size <= 200 * 1024,
        "policy.wasm is {size} bytes, over the 200 KiB budget"
    );
}

/// Every evaluation's memory is reset afterwards, at a cost that grows with its size (policy/build.rs): the module
/// starts with 128 KiB, and its heap with at least 24 KiB of it, past the stack, the data and the calls' 32 KiB scratch
/// region. A module whose data grew into that heap fails here, naming how much is left, before any benchmark shows it.
#[test]
fn starts_with_a_small_memory_and_room_for_the_heap() {
    let shape = module_shape();
    assert_eq!(shape.initial_memory_bytes, Some(128 * 1024));
    let heap_base = shape
        .heap_base()
        .expect("policy.wasm exports __heap_base as a constant global");
    let first_arena = 128 * 1024 - heap_base;
    println!("Talc's first arena: {first_arena} bytes");
    assert!(
        first_arena >= 24 * 1024,
        "only {first_arena} bytes of the initial memory are left for the heap (__heap_base {heap_base})"
    );
}

#[test]
fn speaks_kubewarden_protocol_v1() {
    assert_eq!(
        policy_host()
            .protocol_version()
            .expect("protocol_version answers"),
        "v1"
    );
}
