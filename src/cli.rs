//! The clap definitions.
