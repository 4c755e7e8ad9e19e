//! hashlock: resolve Python requirements against a package index, collect every published
//! hash, write a `pip install --require-hashes` file, and explain what stands in the way.
//!
//! Data flows one way: inputs → [`settings`] → [`resolve`] (over [`index`] and [`metadata`])
//! → [`lock::Lock`] → [`output`]. The binary (`src/main.rs`) is a thin layer over [`commands`].

pub mod check;
pub mod cli;
pub mod commands;
pub mod computed;
pub mod dist;
pub mod index;
pub mod lock;
pub mod lockfile;
pub mod metadata;
pub mod output;
pub mod progress;
pub mod pyproject;
pub mod report;
pub mod requirement;
pub mod resolve;
pub mod settings;
pub mod target;
