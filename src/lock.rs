//! The Lock: pinned packages with their files (for hashes), who needs them, and markers.
