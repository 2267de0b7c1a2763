//! Shared data generators for Ember's criterion suites.
