//! The word-count benchmark's data set: text files of lines of words drawn from a fixed
//! vocabulary with a Zipf skew, the same bytes for the same seed on every machine.

use std::collections::HashSet;
use std::io::Write as _;
use std::path::Path;

use crate::SplitMix64;

/// The data set's shape.
#[derive(Debug, Clone, Copy)]
pub struct WordData {
    /// Files written.
    pub files: usize,
    /// Lines per file.
    pub lines_per_file: usize,
    /// Words per line.
    pub words_per_line: usize,
    /// Distinct words, each 3 to 10 lowercase letters.
    pub vocabulary: usize,
    /// Zipf exponent of word frequencies.
    pub skew: f64,
    /// Seed of the vocabulary and the draws.
    pub seed: u64,
}

impl Default for WordData {
    /// 20 files of 100,000 lines of 10 words from 10,000 words, s = 1.1: 20M words.
    fn default() -> Self {
        WordData {
            files: 20,
            lines_per_file: 100_000,
            words_per_line: 10,
            vocabulary: 10_000,
            skew: 1.1,
            seed: 42,
        }
    }
}

impl WordData {
    /// Words in the whole data set.
    pub fn total_words(&self) -> u64 {
        (self.files * self.lines_per_file * self.words_per_line) as u64
    }

    /// The vocabulary, most frequent word first.
    pub fn vocabulary(&self) -> Vec<String> {
        let mut rng = SplitMix64::new(self.seed);
        let mut seen = HashSet::with_capacity(self.vocabulary);
        let mut words = Vec::with_capacity(self.vocabulary);
        while words.len() < self.vocabulary {
            let len = 3 + rng.below(8) as usize;
            let word: String = (0..len).map(|_| (b'a' + rng.below(26) as u8) as char).collect();
            if seen.insert(word.clone()) {
                words.push(word);
            }
        }
        words
    }

    /// Writes `part-00000.txt`, `part-00001.txt`, ... into `dir` (created if missing).
    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        let words = self.vocabulary();
        let cdf = zipf_cdf(words.len(), self.skew);
        let mut rng = SplitMix64::new(self.seed ^ 0x5EED);
        for file in 0..self.files {
            let mut text = Vec::with_capacity(self.lines_per_file * self.words_per_line * 8);
            for _ in 0..self.lines_per_file {
                for w in 0..self.words_per_line {
                    if w > 0 {
                        text.push(b' ');
                    }
                    let u = rng.unit_f64();
                    let rank = cdf.partition_point(|&c| c < u).min(words.len() - 1);
                    text.extend_from_slice(words[rank].as_bytes());
                }
                text.push(b'\n');
            }
            let tmp = dir.join(format!(".part-{file:05}.txt.tmp"));
            let mut out = std::fs::File::create(&tmp)?;
            out.write_all(&text)?;
            out.sync_all()?;
            std::fs::rename(&tmp, dir.join(format!("part-{file:05}.txt")))?;
        }
        Ok(())
    }
}

/// Cumulative probabilities of ranks `1..=n` under Zipf with exponent `s`.
fn zipf_cdf(n: usize, s: f64) -> Vec<f64> {
    let weights: Vec<f64> = (1..=n).map(|k| 1.0 / (k as f64).powf(s)).collect();
    let total: f64 = weights.iter().sum();
    let mut acc = 0.0;
    weights
        .iter()
        .map(|w| {
            acc += w / total;
            acc
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocabulary_is_distinct_lowercase_and_seeded() {
        let data = WordData { vocabulary: 500, ..WordData::default() };
        let words = data.vocabulary();
        assert_eq!(words.len(), 500);
        assert_eq!(words.iter().collect::<HashSet<_>>().len(), 500);
        assert!(
            words
                .iter()
                .all(|w| (3..=10).contains(&w.len()) && w.bytes().all(|b| b.is_ascii_lowercase()))
        );
        assert_eq!(words, data.vocabulary());
        assert_ne!(words, WordData { seed: 7, ..data }.vocabulary());
    }

    #[test]
    fn files_have_the_declared_shape_and_skew() {
        let dir = std::env::temp_dir().join(format!("ember-wc-data-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let data = WordData { files: 2, lines_per_file: 1000, ..WordData::default() };
        data.write(&dir).unwrap();
        let text = std::fs::read_to_string(dir.join("part-00001.txt")).unwrap();
        assert_eq!(text.lines().count(), 1000);
        assert!(text.lines().all(|l| l.split(' ').count() == 10));
        let top = &data.vocabulary()[0];
        let top_count = text.split([' ', '\n']).filter(|w| w == top).count();
        // Rank 1 of Zipf(1.1) over 10,000 words has probability 1 / H(10000, 1.1), about
        // 0.15: about 1,500 of these 10,000 words.
        assert!((1300..1700).contains(&top_count), "{top_count}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
