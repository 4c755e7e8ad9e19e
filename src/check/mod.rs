//! Checks: what stands between a lock and a trustworthy hash-checked install, as findings.

pub mod attestations;
pub mod audit;
pub mod findings;
pub mod installed;
pub mod provenance;
pub mod verify;
