//! The oracles the fuzz targets hold the policy to. Each is written independently of the code it checks (its own
//! walk of the workload kinds here; the reference grammar's in the distribution-reference-oracle crate, which the
//! policy's tests share), so a bug in the policy is not mirrored here.
//!
//! Every check panics with a description of what is wrong: under libFuzzer a panic is a finding, saved with its input.

pub mod verdict;
