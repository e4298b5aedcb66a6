//! The oracles the fuzz targets hold the policy to. Each is written independently of the code it checks (its own
//! reading of the reference grammar, its own walk of the workload kinds), so a bug in the policy is not mirrored here.
//!
//! Every check panics with a description of what is wrong: under libFuzzer a panic is a finding, saved with its input.

pub mod distribution;
pub mod verdict;
