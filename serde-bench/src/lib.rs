//! Serialization baselines measured against Ember's binary rows.
