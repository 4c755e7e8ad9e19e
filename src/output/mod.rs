//! Rendering: the `--require-hashes` requirements file and the reports.

pub mod requirements;
