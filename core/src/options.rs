//! [`Options`]: the `option(key, value)` pairs of a reader or writer. Keys are
//! case-insensitive, as in Spark; every format declares the keys it knows, and any other key
//! is an error naming the format and the keys it accepts.

use std::collections::BTreeMap;
use std::str::FromStr;

use crate::error::{EmberError, Result};

/// Options of one source or sink, keys lowercased.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    values: BTreeMap<String, String>,
}

impl Options {
    /// No options.
    pub fn new() -> Options {
        Options::default()
    }

    /// Options from `(key, value)` pairs.
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Options {
        let mut options = Options::new();
        for (k, v) in pairs {
            options.set(k, *v);
        }
        options
    }

    /// Sets `key` (case-insensitive) to `value`.
    pub fn set(&mut self, key: &str, value: impl Into<String>) {
        self.values.insert(key.to_ascii_lowercase(), value.into());
    }

    /// The value of `key`, if set.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(&key.to_ascii_lowercase()).map(String::as_str)
    }

    /// Every key and value.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Fails unless every key set is one of `known` (given in Spark's camelCase).
    pub fn check_known(&self, what: &str, known: &[&str]) -> Result<()> {
        for key in self.values.keys() {
            if !known.iter().any(|k| k.eq_ignore_ascii_case(key)) {
                return Err(EmberError::config(format!(
                    "{what}: unknown option '{key}'; known options: {}",
                    if known.is_empty() { "none".to_owned() } else { known.join(", ") }
                )));
            }
        }
        Ok(())
    }

    /// The value of a required `key`.
    pub fn required(&self, what: &str, key: &str) -> Result<&str> {
        self.get(key)
            .ok_or_else(|| EmberError::config(format!("{what}: option '{key}' must be specified")))
    }

    /// `key` parsed as a `T`, or `default` when unset.
    pub fn parse_or<T: FromStr>(&self, what: &str, key: &str, default: T) -> Result<T>
    where
        T::Err: std::fmt::Display,
    {
        Ok(self.parse_opt(what, key)?.unwrap_or(default))
    }

    /// `key` parsed as a `T`, or `None` when unset.
    pub fn parse_opt<T: FromStr>(&self, what: &str, key: &str) -> Result<Option<T>>
    where
        T::Err: std::fmt::Display,
    {
        let Some(raw) = self.get(key) else { return Ok(None) };
        raw.trim().parse().map(Some).map_err(|e: T::Err| {
            EmberError::config(format!("{what}: option '{key}' = '{raw}' is invalid: {e}"))
        })
    }

    /// A boolean option (`true`/`false`, any case), or `default` when unset.
    pub fn flag(&self, what: &str, key: &str, default: bool) -> Result<bool> {
        match self.get(key).map(str::to_ascii_lowercase).as_deref() {
            None => Ok(default),
            Some("true") => Ok(true),
            Some("false") => Ok(false),
            Some(other) => Err(EmberError::config(format!(
                "{what}: option '{key}' = '{other}' is invalid: expected true or false"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_case_insensitive_and_unknown_keys_are_named() {
        let mut o = Options::new();
        o.set("maxFilesPerTrigger", "3");
        assert_eq!(o.get("MAXFILESPERTRIGGER"), Some("3"));
        assert_eq!(o.parse_or::<usize>("src", "maxfilespertrigger", 1).unwrap(), 3);
        o.check_known("src", &["maxFilesPerTrigger"]).unwrap();
        o.set("typo", "1");
        let e = o.check_known("text source", &["maxFilesPerTrigger", "path"]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "text source: unknown option 'typo'; known options: maxFilesPerTrigger, path"
        );
    }

    #[test]
    fn malformed_values_name_the_option_and_the_value() {
        let mut o = Options::new();
        o.set("port", "ninety");
        let e = o.parse_or::<u16>("socket source", "port", 1).unwrap_err().to_string();
        assert!(e.starts_with("socket source: option 'port' = 'ninety' is invalid"), "{e}");
        assert!(o.parse_opt::<u16>("s", "host").unwrap().is_none());
        let e = o.required("socket source", "host").unwrap_err().to_string();
        assert_eq!(e, "socket source: option 'host' must be specified");
        o.set("truncate", "maybe");
        assert!(o.flag("console", "truncate", true).is_err());
        o.set("truncate", "FALSE");
        assert!(!o.flag("console", "truncate", true).unwrap());
    }
}
