//! The Person data set: the record of the JVM reference measurements.

use serde::{Deserialize, Serialize};

use super::text::{CITIES, FIRST_NAMES, LAST_NAMES};
use crate::ops::f64_order_key;
use crate::record::Record;
use crate::rng::SplitMix64;

/// A person, as in the JVM reference: `Person(id, name, age, city, score)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ember::Row)]
pub struct Person {
    pub id: i64,
    pub name: String,
    pub age: i32,
    pub city: String,
    pub score: f64,
}

impl Record for Person {
    const DATASET: &'static str = "person";
    const JAVA_CLASS: &'static str = "ember.bench.Person";

    /// Ids count up from 0 (a table's key); names are "First Last" from fixed lists, ages
    /// 18..=90, cities one of 16, scores uniform in `[0, 100)`.
    fn generate(seed: u64, rows: usize) -> Vec<Self> {
        let mut rng = SplitMix64::new(seed);
        (0..rows)
            .map(|i| {
                let first = rng.pick(FIRST_NAMES);
                let last = rng.pick(LAST_NAMES);
                let mut name = String::with_capacity(first.len() + 1 + last.len());
                name.push_str(first);
                name.push(' ');
                name.push_str(last);
                Person {
                    id: i as i64,
                    name,
                    age: rng.range_i64(18, 90) as i32,
                    city: (*rng.pick(CITIES)).to_owned(),
                    score: rng.unit_f64() * 100.0,
                }
            })
            .collect()
    }

    fn probe(&self) -> i64 {
        i64::from(self.age)
    }

    fn group_key(&self) -> &str {
        &self.city
    }

    fn group_value(&self) -> i64 {
        i64::from(self.age)
    }

    fn sort_key(&self) -> i64 {
        f64_order_key(self.score)
    }
}
