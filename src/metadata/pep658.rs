//! PEP 658/714: the `<file URL>.metadata` file, checked against its advertised hash.
