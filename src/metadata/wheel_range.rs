//! HTTP range requests into a remote wheel: the tail holds the zip central directory and,
//! usually, the `*.dist-info/METADATA` entry too; one suffix request covers both.
