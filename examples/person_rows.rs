//! Encodes generated `Person` rows with the derived encoder, then reads some back in place.
//!
//! `cargo run --release -p ember-examples --example person_rows -- [ROWS]` (default 1,000,000).
//! Prints the row sizes, encode/decode/field-read ns per row, and a few rows read through
//! the zero-copy view.

use std::time::Instant;

use anyhow::{Context, Result};
use ember::Row;
use ember::row::{FieldSource, RowArena, RowType};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Row, Debug, Clone, PartialEq)]
struct Person {
    id: i64,
    name: String,
    age: i32,
    city: String,
    score: f64,
}

const NAMES: [&str; 8] = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken"];
const CITIES: [&str; 6] = ["London", "Zürich", "Kyoto", "Lagos", "Lima", "Reykjavík"];

fn person(i: usize) -> Person {
    // A multiplicative hash spreads consecutive ids over names, cities and ages.
    let h = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32;
    Person {
        id: i as i64,
        name: format!("{} {}", NAMES[h as usize % NAMES.len()], h % 1000),
        age: 18 + (h % 73) as i32,
        city: CITIES[(h >> 8) as usize % CITIES.len()].to_string(),
        score: (h % 10_000) as f64 / 100.0,
    }
}

// Each phase is its own non-inlined function so profilers attribute its cost to it.
#[inline(never)]
fn encode_all(people: &[Person]) -> RowArena {
    let mut arena = RowArena::of::<Person>();
    arena.reserve(people.len(), people.len() * 80);
    for p in people {
        arena.push_encoded(p);
    }
    arena
}

#[inline(never)]
fn decode_all(arena: &RowArena) -> Vec<Person> {
    arena.iter().map(Person::decode).collect()
}

#[inline(never)]
fn sum_ages(arena: &RowArena) -> i64 {
    arena.iter().map(|row| i64::from(row.get_i32(2))).sum()
}

fn main() -> Result<()> {
    let rows: usize = match std::env::args().nth(1) {
        Some(arg) => arg.parse().with_context(|| format!("ROWS must be a count, got {arg:?}"))?,
        None => 1_000_000,
    };
    let people: Vec<Person> = (0..rows).map(person).collect();

    let started = Instant::now();
    let arena = encode_all(&people);
    let encode_ns = started.elapsed().as_nanos() as f64 / rows.max(1) as f64;

    let started = Instant::now();
    let decoded = decode_all(&arena);
    let decode_ns = started.elapsed().as_nanos() as f64 / rows.max(1) as f64;
    anyhow::ensure!(decoded == people, "decoded rows differ from the encoded values");

    let started = Instant::now();
    let total_age = sum_ages(&arena);
    let read_ns = started.elapsed().as_nanos() as f64 / rows.max(1) as f64;

    println!("schema      {}", Person::schema());
    println!("rows        {rows}");
    println!(
        "bytes       {} in all, {:.1} per row (fixed part {} bytes)",
        arena.data_len(),
        arena.data_len() as f64 / rows.max(1) as f64,
        Person::schema().fixed_size()
    );
    println!("encode      {encode_ns:.1} ns/row (derived encoder into a row arena)");
    println!("decode      {decode_ns:.1} ns/row (to owned Person)");
    println!("field read  {read_ns:.2} ns/row (age, in place; sum {total_age})");
    println!("first rows, read in place through PersonView:");
    for row in arena.iter().take(3) {
        let view = Person::view(row);
        println!(
            "  id={} name={:?} age={} city={:?} score={}  ({} bytes)",
            view.id(),
            view.name(),
            view.age(),
            view.city(),
            view.score(),
            row.bytes().len()
        );
    }
    Ok(())
}
