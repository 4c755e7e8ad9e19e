//! One module per subcommand, each a short composition of the library stages.
