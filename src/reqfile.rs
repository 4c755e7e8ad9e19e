//! Parser for pip requirements files: comments, continuation lines, `-r`/`-c` includes,
//! per-requirement `--hash` options, and global options. Keeps file and line for messages.
