// policy.wasm's linear memory at instantiation, shared by build.rs (which links the module with it) and the allocator
// (which heaps what the stack, the data and the scratch region leave of it): one place to change either.
//
// Stack first (Rust's wasm32 default): a stack overflow runs below address 0 and traps, never into data.
//
//   0 .. STACK_BYTES                     the stack, growing down
//   STACK_BYTES .. __heap_base           data: constants, statics, the calls' scratch region
//   __heap_base .. INITIAL_MEMORY_BYTES  Talc's first arena; past it, memory.grow
//
// Why so small: the host resets a fresh instance's whole memory after every evaluation, and the cost grows with the
// memory's size (see build.rs).

/// The stack. The deepest payload or settings the JSON parser accepts (128 levels) needs 37–40 KiB: a 36 KiB stack
/// traps at 113 levels, a 40 KiB one holds every case of tests/tests/integration/limits.rs, which fail on a module
/// whose stack is too small. 48 KiB leaves a fifth more.
pub const STACK_BYTES: u32 = 48 * 1024;

/// The whole initial memory: two wasm pages. The link fails if the stack and the data do not fit; the module-shape
/// test holds Talc's first arena to at least 24 KiB.
pub const INITIAL_MEMORY_BYTES: u32 = 128 * 1024;
