//! Tessera's inference engine and node logic (Burn). Not implemented yet: see README.md.
