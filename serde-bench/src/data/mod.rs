//! The benchmark data sets: plain record structs and their seeded generators.
//!
//! - [`Person`]: the JVM reference's five-field record;
//! - [`Wide`]: twenty mixed fields, six of them nullable (10% nulls each);
//! - [`WordCount`]: word/count pairs over a Zipf-skewed vocabulary.

mod person;
mod text;
mod wide;
mod wordcount;

pub use person::Person;
pub use wide::{NULL_PROBABILITY, Wide};
pub use wordcount::{VOCABULARY_SIZE, WordCount, ZIPF_EXPONENT, vocabulary};
