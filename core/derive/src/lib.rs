//! `#[derive(Row)]`: generates Ember binary-row encoders at compile time.
