//! The network's perceptual hash (goimagehash v1.1.0 `PerceptionHash`). Not implemented yet.
