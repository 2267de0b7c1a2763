//! The word/count data set: pairs drawn from a Zipf-skewed vocabulary.

use serde::{Deserialize, Serialize};

use super::text::pseudo_word;
use crate::record::Record;
use crate::rng::SplitMix64;

/// The exponent `s` of the Zipf law: the word of rank `k` has weight `1 / k^s`.
pub const ZIPF_EXPONENT: f64 = 1.0;

/// Number of distinct words in the vocabulary.
pub const VOCABULARY_SIZE: usize = 10_000;

/// The most frequent words, as in English text; the rest of the vocabulary is pseudo-words.
const HEAD: &[&str] = &[
    "the", "of", "and", "to", "a", "in", "is", "it", "you", "that", "he", "was", "for", "on",
    "are", "with", "as", "I", "his", "they", "be", "at", "one", "have", "this", "naïve", "straße",
];

/// A (word, count) pair, as a word count's partial aggregate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ember::Row)]
pub struct WordCount {
    pub word: String,
    pub count: i64,
}

/// The vocabulary in rank order (most frequent first); depends on the seed for its tail only.
pub fn vocabulary(seed: u64) -> Vec<String> {
    let mut rng = SplitMix64::new(seed ^ 0x766F_6361_6275_6C61);
    let mut words: Vec<String> = HEAD.iter().map(|w| (*w).to_owned()).collect();
    while words.len() < VOCABULARY_SIZE {
        let syllables = 2 + rng.below(3) as usize;
        words.push(pseudo_word(&mut rng, syllables));
    }
    words
}

impl Record for WordCount {
    const DATASET: &'static str = "wordcount";
    const JAVA_CLASS: &'static str = "ember.bench.WordCount";

    /// Words follow Zipf's law with exponent [`ZIPF_EXPONENT`] over [`vocabulary`]; counts are
    /// 1..=9, mostly small, like map-side partial counts.
    fn generate(seed: u64, rows: usize) -> Vec<Self> {
        let words = vocabulary(seed);
        let mut cumulative = Vec::with_capacity(words.len());
        let mut total = 0.0;
        for rank in 1..=words.len() {
            total += 1.0 / (rank as f64).powf(ZIPF_EXPONENT);
            cumulative.push(total);
        }
        let mut rng = SplitMix64::new(seed);
        (0..rows)
            .map(|_| {
                let target = rng.unit_f64() * total;
                let rank = cumulative.partition_point(|&c| c <= target).min(words.len() - 1);
                let count = 1 + (rng.below(9) * rng.below(9)) as i64 / 8;
                WordCount { word: words[rank].clone(), count }
            })
            .collect()
    }

    fn probe(&self) -> i64 {
        self.count
    }

    fn group_key(&self) -> &str {
        &self.word
    }

    fn group_value(&self) -> i64 {
        self.count
    }

    fn sort_key(&self) -> i64 {
        self.count
    }
}
