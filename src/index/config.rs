//! Which index to use, as pip decides it: `--index-url`, `PIP_INDEX_URL`, `index-url` in pip's
//! configuration files, then pip's own built-in default (asked of the `pip` on PATH, cached).
