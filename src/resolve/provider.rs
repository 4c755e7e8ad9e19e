//! The PubGrub `DependencyProvider`: packages are the root, a distribution, or a
//! distribution with an extra (which depends on its base at the same version).
