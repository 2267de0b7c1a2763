//! [`DataStreamReader`] (`session.read_stream()`) and [`DataFrame`], the untyped result of
//! `load()`, which `as_::<T>()` turns into a typed [`Dataset`].

use std::sync::Arc;

use crate::data::Data;
use crate::dataset::Dataset;
use crate::error::{EmberError, Result};
use crate::options::Options;
use crate::row::Schema;
use crate::session::Session;
use crate::source::{self, SourceFactory};

/// Describes a streaming source: its format and options.
#[derive(Debug, Clone)]
pub struct DataStreamReader {
    session: Session,
    format: Option<String>,
    options: Options,
}

impl DataStreamReader {
    pub(crate) fn new(session: Session) -> Self {
        DataStreamReader { session, format: None, options: Options::new() }
    }

    /// The source format: `socket`, `text`, `csv`, `json`, `rate`, `generator`.
    pub fn format(mut self, format: &str) -> Self {
        self.format = Some(format.to_owned());
        self
    }

    /// A source option; keys are case-insensitive.
    pub fn option(mut self, key: &str, value: impl ToString) -> Self {
        self.options.set(key, value.to_string());
        self
    }

    /// The stream: fails for an unknown format, an unknown option or a malformed value.
    pub fn load(self) -> Result<DataFrame> {
        let format = self.format.as_deref().ok_or_else(|| {
            EmberError::config("no source format given: call format(..) before load()")
        })?;
        let factory = source::factory(format, &self.options)?;
        Ok(DataFrame { session: self.session, factory })
    }

    /// `format("text").option("path", dir).load()`.
    pub fn text(self, dir: &str) -> Result<DataFrame> {
        self.format("text").option("path", dir).load()
    }
}

/// An untyped stream of rows.
#[derive(Clone)]
pub struct DataFrame {
    session: Session,
    factory: Arc<dyn SourceFactory>,
}

impl std::fmt::Debug for DataFrame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataFrame").field("source", &self.factory.description()).finish()
    }
}

impl DataFrame {
    /// A stream of the source `factory` makes.
    pub fn from_source(session: &Session, factory: Arc<dyn SourceFactory>) -> DataFrame {
        DataFrame { session: session.clone(), factory }
    }

    /// The row schema.
    pub fn schema(&self) -> Arc<Schema> {
        self.factory.schema()
    }

    /// The rows as typed elements; fails unless `T`'s columns have the stream's types, in
    /// order.
    pub fn as_<T: Data>(&self) -> Result<Dataset<T>> {
        let schema = self.factory.schema();
        let wanted = T::schema();
        let types = |s: &Schema| s.fields().iter().map(|f| f.data_type.clone()).collect::<Vec<_>>();
        if types(&schema) != types(&wanted) {
            return Err(EmberError::analysis(format!(
                "cannot read rows of {schema} as {}: its columns are {wanted}",
                std::any::type_name::<T>()
            )));
        }
        // A column that may hold nulls needs an `Option` to land in.
        for (have, want) in schema.fields().iter().zip(wanted.fields()) {
            if have.nullable && !want.nullable {
                return Err(EmberError::analysis(format!(
                    "cannot read rows of {schema} as {}: column '{}' may be null, so its \
                     field must be an Option",
                    std::any::type_name::<T>(),
                    have.name
                )));
            }
        }
        Ok(Dataset::scan(self.session.clone(), self.factory.clone(), wanted))
    }
}
