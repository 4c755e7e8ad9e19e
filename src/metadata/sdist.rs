//! `PKG-INFO` from an sdist (tar.gz or zip), usable when Metadata-Version >= 2.2 and
//! Requires-Dist is not Dynamic.
