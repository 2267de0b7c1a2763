//! Seeded data generators shared by Ember's criterion suites and bench binaries.

use ember::Row;

/// The benchmarks' person record (the same fields as the JVM reference's).
#[derive(Row, Debug, Clone, PartialEq)]
pub struct Person {
    /// Identifier.
    pub id: i64,
    /// 4 to 12 ASCII letters.
    pub name: String,
    /// 18 to 90.
    pub age: i32,
    /// One of a few dozen city names.
    pub city: String,
    /// Uniform in [0, 100).
    pub score: f64,
}

/// SplitMix64: a tiny, well-mixed, seedable generator; good enough for test data and
/// stable across releases, unlike a dependency's default generator.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in [0, 1).
    pub fn unit_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

const CITIES: [&str; 24] = [
    "Amsterdam",
    "Berlin",
    "Cairo",
    "Dublin",
    "Edinburgh",
    "Florence",
    "Geneva",
    "Helsinki",
    "Istanbul",
    "Jakarta",
    "Kyoto",
    "Lisbon",
    "Madrid",
    "Nairobi",
    "Oslo",
    "Paris",
    "Quito",
    "Rome",
    "Seoul",
    "Tokyo",
    "Utrecht",
    "Vienna",
    "Warsaw",
    "Zurich",
];

/// `n` people, the same for the same `seed`.
pub fn people(n: usize, seed: u64) -> Vec<Person> {
    let mut rng = SplitMix64::new(seed);
    (0..n)
        .map(|i| {
            let name_len = 4 + rng.below(9) as usize;
            let name: String =
                (0..name_len).map(|_| (b'a' + rng.below(26) as u8) as char).collect();
            Person {
                id: i as i64,
                name,
                age: 18 + rng.below(73) as i32,
                city: CITIES[rng.below(CITIES.len() as u64) as usize].to_string(),
                score: rng.unit_f64() * 100.0,
            }
        })
        .collect()
}

pub mod wordcount_data;
