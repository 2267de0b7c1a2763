//! Word lists and pseudo-words shared by the generators.
//!
//! The lists hold some non-ASCII entries on purpose: two- and three-byte UTF-8 and one character
//! outside the Basic Multilingual Plane, so every codec pays for its string encoding honestly.

use crate::rng::SplitMix64;

pub(crate) const FIRST_NAMES: &[&str] = &[
    "Ada", "Alan", "Grace", "Edsger", "Barbara", "Donald", "Frances", "John", "Margaret", "Ken",
    "Radia", "Dennis", "Niklaus", "Leslie", "Shafi", "Tony", "José", "Zoë", "Łukasz", "Søren",
    "Ana", "Olu", "Mei", "Ravi", "Ines", "Yusuf", "Hana", "Lars", "Chloé", "Bjørn", "Aiko", "Omar",
];

pub(crate) const LAST_NAMES: &[&str] = &[
    "Lovelace",
    "Turing",
    "Hopper",
    "Dijkstra",
    "Liskov",
    "Knuth",
    "Allen",
    "Backus",
    "Hamilton",
    "Thompson",
    "Perlman",
    "Ritchie",
    "Wirth",
    "Lamport",
    "Goldwasser",
    "Hoare",
    "Müller",
    "García",
    "Nowak",
    "Kierkegaard",
    "Silva",
    "Okafor",
    "Chen",
    "Sharma",
    "Martín",
    "Yılmaz",
    "Tanaka",
    "Andersson",
    "Dubois",
    "Haugen",
    "Suzuki",
    "Haddad",
];

pub(crate) const CITIES: &[&str] = &[
    "London",
    "Paris",
    "Berlin",
    "Zürich",
    "Kraków",
    "São Paulo",
    "New York",
    "Lagos",
    "Mumbai",
    "東京",
    "Sydney",
    "Toronto",
    "Reykjavík",
    "Nairobi",
    "Oslo",
    "Seoul",
];

pub(crate) const CATEGORIES: &[&str] =
    &["books", "garden", "toys", "grocery", "music", "sports", "tools", "électronique"];

pub(crate) const REGIONS: &[&str] = &["north", "south", "east", "west", "centre", "𝔬𝔳𝔢𝔯𝔰𝔢𝔞𝔰"];

const SYLLABLES: &[&str] = &[
    "ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "an", "el", "or", "un", "be", "di", "fu", "go",
    "ha", "je", "ko", "lu", "ma", "no", "pi", "re", "st", "tr", "wa", "xe", "yo", "zu", "ch", "qu",
];

/// A pronounceable lowercase pseudo-word of `syllables` syllables.
pub(crate) fn pseudo_word(rng: &mut SplitMix64, syllables: usize) -> String {
    let mut word = String::with_capacity(syllables * 2);
    for _ in 0..syllables {
        word.push_str(rng.pick::<&str>(SYLLABLES));
    }
    word
}
