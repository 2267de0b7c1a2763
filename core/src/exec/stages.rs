//! Typed stateless stages, fused at compile time: Spark generates one loop for a stage of its
//! plan ("whole-stage code generation"); Ember gets the same from monomorphisation. Each
//! `map`, `flat_map` and `filter` wraps the stages before it in a type of its own
//! ([`Mapped`], [`FlatMapped`], [`Filtered`] around [`Read`]), and running them hands every
//! element to the next stage's closure, and the last to the consumer (an aggregation's
//! pre-aggregation, or the collector of a stateless query), as a direct call. A chain of stages
//! and its consumer so compile to one loop per input chunk: no vector of elements between two
//! stages, and no dynamic call per element.
//!
//! Users never name these types; they appear as the second parameter of a
//! [`Dataset`](crate::Dataset) that has stages.

use std::marker::PhantomData;
use std::sync::Arc;

use arrow_array::RecordBatch;

use crate::data::Data;
use crate::error::Result;
use crate::row::Schema;

/// `f` as it stands: a closure can be marked `#[inline(always)]` only where it is an
/// argument, and the stages hand theirs on by reference.
#[inline(always)]
pub(crate) fn per_element<T, F: FnMut(T)>(f: F) -> F {
    f
}

/// Stateless stages from a source's rows to elements `T`.
pub trait Stages<T>: Clone + Send + Sync + 'static {
    /// Runs the stages over the rows of `chunk`, handing each element they produce to `out`;
    /// returns how many it handed on. Each stage counts what it produces where that is cheap
    /// (a `flat_map` per input element, in its fold's accumulator), not once per element in
    /// the consumer: there the count stayed in memory, an increment through three loads for
    /// every word of the word count.
    fn run<O: FnMut(T)>(&self, chunk: &RecordBatch, out: &mut O) -> Result<usize>;
}

/// The first stage: a source's rows read as `T`s.
pub struct Read<T> {
    schema: Arc<Schema>,
    element: PhantomData<fn() -> T>,
}

impl<T> Read<T> {
    /// Reads rows of `schema`.
    pub(crate) fn new(schema: Arc<Schema>) -> Self {
        Read { schema, element: PhantomData }
    }
}

impl<T> Clone for Read<T> {
    fn clone(&self) -> Self {
        Read::new(self.schema.clone())
    }
}

impl<T: Data> Stages<T> for Read<T> {
    #[inline]
    fn run<O: FnMut(T)>(&self, chunk: &RecordBatch, out: &mut O) -> Result<usize> {
        let mut read = 0;
        T::for_each_in(
            &self.schema,
            chunk,
            per_element(
                #[inline(always)]
                |t| {
                    read += 1;
                    out(t)
                },
            ),
        )?;
        Ok(read)
    }
}

/// `map(f)` after the stages `S` that produce `T`s.
pub struct Mapped<T, S, F> {
    input: S,
    f: Arc<F>,
    element: PhantomData<fn(T)>,
}

impl<T, S, F> Mapped<T, S, F> {
    pub(crate) fn new(input: S, f: Arc<F>) -> Self {
        Mapped { input, f, element: PhantomData }
    }
}

impl<T, S: Clone, F> Clone for Mapped<T, S, F> {
    fn clone(&self) -> Self {
        Mapped::new(self.input.clone(), self.f.clone())
    }
}

impl<T, U, S, F> Stages<U> for Mapped<T, S, F>
where
    T: 'static,
    S: Stages<T>,
    F: Fn(T) -> U + Send + Sync + 'static,
{
    #[inline]
    fn run<O: FnMut(U)>(&self, chunk: &RecordBatch, out: &mut O) -> Result<usize> {
        let f = &*self.f;
        self.input.run(
            chunk,
            &mut per_element(
                #[inline(always)]
                |t| out(f(t)),
            ),
        )
    }
}

/// `flat_map(f)` after the stages `S` that produce `T`s.
pub struct FlatMapped<T, S, F> {
    input: S,
    f: Arc<F>,
    element: PhantomData<fn(T)>,
}

impl<T, S, F> FlatMapped<T, S, F> {
    pub(crate) fn new(input: S, f: Arc<F>) -> Self {
        FlatMapped { input, f, element: PhantomData }
    }
}

impl<T, S: Clone, F> Clone for FlatMapped<T, S, F> {
    fn clone(&self) -> Self {
        FlatMapped::new(self.input.clone(), self.f.clone())
    }
}

impl<T, U, I, S, F> Stages<U> for FlatMapped<T, S, F>
where
    T: 'static,
    S: Stages<T>,
    F: Fn(T) -> I + Send + Sync + 'static,
    I: IntoIterator<Item = U>,
{
    #[inline]
    fn run<O: FnMut(U)>(&self, chunk: &RecordBatch, out: &mut O) -> Result<usize> {
        let f = &*self.f;
        // `fold` rather than a `for` loop: an iterator's `fold` can keep its state in
        // registers (`split`'s does). The closures are always inlined: left to the compiler,
        // the per-element one (the rest of the stages and the consumer) stayed a call.
        let mut produced = 0;
        self.input.run(
            chunk,
            &mut per_element(
                #[inline(always)]
                |t| {
                    produced += f(t).into_iter().fold(
                        0usize,
                        #[inline(always)]
                        |n, u| {
                            out(u);
                            n + 1
                        },
                    )
                },
            ),
        )?;
        Ok(produced)
    }
}

/// `filter(f)` after the stages `S`.
pub struct Filtered<S, F> {
    input: S,
    f: Arc<F>,
}

impl<S, F> Filtered<S, F> {
    pub(crate) fn new(input: S, f: Arc<F>) -> Self {
        Filtered { input, f }
    }
}

impl<S: Clone, F> Clone for Filtered<S, F> {
    fn clone(&self) -> Self {
        Filtered::new(self.input.clone(), self.f.clone())
    }
}

impl<T, S, F> Stages<T> for Filtered<S, F>
where
    S: Stages<T>,
    F: Fn(&T) -> bool + Send + Sync + 'static,
{
    #[inline]
    fn run<O: FnMut(T)>(&self, chunk: &RecordBatch, out: &mut O) -> Result<usize> {
        let f = &*self.f;
        let mut passed = 0;
        self.input.run(
            chunk,
            &mut per_element(
                #[inline(always)]
                |t| {
                    if f(&t) {
                        passed += 1;
                        out(t)
                    }
                },
            ),
        )?;
        Ok(passed)
    }
}
