//! The requirements file hashlock writes, by the rules pip applies when reading it.
