# Sourced by the scripts that build the policy crate for wasm32-unknown-unknown (build-policy.sh, build-js.sh).
#
# Two routes, chosen by what the machine has:
#  - a Rust toolchain whose sysroot has the wasm32-unknown-unknown std (an ordinary `rustup target add`): plain cargo;
#  - otherwise Debian's Rust (rustc-web) with its std source, building std for the target with -Zbuild-std.
#    rustup's own target download is not reachable on every machine; Debian's packages are.
# Callers set `log_name` (the prefix of their messages) before sourcing.

wasm_target=wasm32-unknown-unknown

# apt_install PACKAGE…: installs Debian packages (as root), refreshing the lists only when they are older than a day.
apt_install() {
  if [ "$(id -u)" != 0 ]; then
    echo "$log_name: need the Debian packages: $*; run as root or install them" >&2
    exit 1
  fi
  echo "$log_name: installing $* (Debian)" >&2
  if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -1440 2>/dev/null | head -n1)" ]; then
    apt-get update -qq >&2
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}

# True when this rustc's sysroot has the wasm32 std.
has_wasm_std() { # $1 = rustc
  local sysroot
  sysroot=$("$1" --print sysroot 2>/dev/null) || return 1
  [ -d "$sysroot/lib/rustlib/$wasm_target/lib" ]
}

# cargo_build_wasm CARGO-BUILD-ARGS…: `cargo build --target wasm32-unknown-unknown ARGS…` by whichever route works here.
cargo_build_wasm() {
  if has_wasm_std rustc; then
    echo "$log_name: using $(rustc --version) with its $wasm_target std" >&2
    cargo build --target "$wasm_target" "$@"
    return
  fi
  # Debian's rustc-web ships the std source (rust-web-src) that -Zbuild-std needs; lld-19 provides wasm-ld.
  local missing=0
  /usr/bin/rustc --version >/dev/null 2>&1 || missing=1
  [ -x /usr/bin/cargo ] || missing=1
  [ -d "$(/usr/bin/rustc --print sysroot 2>/dev/null)/lib/rustlib/src/rust/library" ] || missing=1
  command -v wasm-ld-19 >/dev/null || missing=1
  if [ "$missing" = 1 ]; then apt_install rustc-web cargo-web rust-web-src lld-19; fi
  echo "$log_name: $wasm_target std not installed for $(rustc --version 2>/dev/null || echo rustc); using Debian's $(/usr/bin/rustc --version) with -Zbuild-std" >&2
  # Building std ourselves also lets a panic be a bare trap (-Cpanic=immediate-abort): on wasm32-unknown-unknown a
  # panic message has nowhere to go, yet the prebuilt std carries all its formatting, a tenth of policy.wasm. A
  # rustup toolchain with the prebuilt wasm32 std (the branch above) cannot do this; its module is that much bigger.
  CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=wasm-ld-19 RUSTC_BOOTSTRAP=1 RUSTC=/usr/bin/rustc \
    CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-Zunstable-options -Cpanic=immediate-abort" \
    /usr/bin/cargo build --target "$wasm_target" "$@" -Zbuild-std=std,panic_abort
}
