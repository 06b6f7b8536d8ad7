//! Tessera's relay: task arguments, results and model files. Not implemented yet: see README.md.
