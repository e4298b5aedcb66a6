//! What the built module imports and exports: exactly what a Kubewarden waPC host provides and expects.

use wasmparser::{Parser, Payload, TypeRef};

use crate::support::{policy_host, policy_wasm};

struct ModuleShape {
    imports: Vec<(String, String, bool)>,
    exports: Vec<String>,
}

fn module_shape() -> ModuleShape {
    let bytes = std::fs::read(policy_wasm()).expect("policy.wasm is readable");
    let mut shape = ModuleShape {
        imports: Vec::new(),
        exports: Vec::new(),
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
                    shape
                        .exports
                        .push(export.expect("export entry").name.to_string());
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

#[test]
fn speaks_kubewarden_protocol_v1() {
    assert_eq!(
        policy_host()
            .protocol_version()
            .expect("protocol_version answers"),
        "v1"
    );
}
