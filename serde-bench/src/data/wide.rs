//! The wide data set: twenty mixed fields, six of them nullable.

use serde::{Deserialize, Serialize};

use super::text::{CATEGORIES, REGIONS, pseudo_word};
use crate::record::Record;
use crate::rng::SplitMix64;

/// Probability that a nullable field of a generated [`Wide`] is null.
pub const NULL_PROBABILITY: f64 = 0.1;

/// A wide record of twenty fields of mixed types; six are nullable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ember::Row)]
pub struct Wide {
    pub id: i64,
    pub category: String,
    pub quantity: i32,
    pub price: f64,
    pub in_stock: bool,
    pub label: String,
    pub created_ms: i64,
    pub rating: i32,
    pub ratio: f64,
    pub flagged: bool,
    pub comment: Option<String>,
    pub parent_id: Option<i64>,
    pub level: Option<i32>,
    pub discount: Option<f64>,
    pub region: Option<String>,
    pub amount: i64,
    pub visits: i32,
    pub weight: f64,
    pub code: String,
    pub priority: Option<i32>,
}

impl Record for Wide {
    const DATASET: &'static str = "wide";
    const JAVA_CLASS: &'static str = "ember.bench.Wide";

    /// Each nullable field is null with probability [`NULL_PROBABILITY`]. `level` stays in
    /// 0..10 and `priority` in 0..500, so on the JVM some of their boxes come from the
    /// `Integer.valueOf` cache, as they would in a real program.
    fn generate(seed: u64, rows: usize) -> Vec<Self> {
        let mut rng = SplitMix64::new(seed);
        (0..rows)
            .map(|i| {
                let label_syllables = 2 + rng.below(5) as usize;
                Wide {
                    id: i as i64,
                    category: (*rng.pick(CATEGORIES)).to_owned(),
                    quantity: rng.below(1000) as i32,
                    price: rng.below(100_000) as f64 / 100.0,
                    in_stock: rng.chance(0.8),
                    label: pseudo_word(&mut rng, label_syllables),
                    created_ms: 1_700_000_000_000 + rng.below(10_000_000_000) as i64,
                    rating: rng.range_i64(1, 5) as i32,
                    ratio: rng.unit_f64(),
                    flagged: rng.chance(0.05),
                    comment: nullable(&mut rng, |r| {
                        let words = 2 + r.below(5);
                        let mut s = String::new();
                        for w in 0..words {
                            if w > 0 {
                                s.push(' ');
                            }
                            let syllables = 1 + r.below(3) as usize;
                            s.push_str(&pseudo_word(r, syllables));
                        }
                        s
                    }),
                    parent_id: nullable(&mut rng, |r| r.below(1_000_000_000) as i64),
                    level: nullable(&mut rng, |r| r.below(10) as i32),
                    discount: nullable(&mut rng, |r| r.unit_f64() * 0.5),
                    region: nullable(&mut rng, |r| (*r.pick(REGIONS)).to_owned()),
                    amount: rng.range_i64(-500_000, 500_000),
                    visits: rng.below(10_000) as i32,
                    weight: rng.unit_f64() * 50.0,
                    code: format!("SKU-{:08}", rng.below(100_000_000)),
                    priority: nullable(&mut rng, |r| r.below(500) as i32),
                }
            })
            .collect()
    }

    fn probe(&self) -> i64 {
        self.amount
    }

    fn group_key(&self) -> &str {
        &self.category
    }

    fn group_value(&self) -> i64 {
        self.amount
    }

    fn sort_key(&self) -> i64 {
        self.created_ms
    }
}

fn nullable<T>(rng: &mut SplitMix64, value: impl FnOnce(&mut SplitMix64) -> T) -> Option<T> {
    if rng.chance(NULL_PROBABILITY) { None } else { Some(value(rng)) }
}
