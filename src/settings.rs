//! Command-line + environment + pip configuration → one validated Settings value.
