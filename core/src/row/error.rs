//! Errors of the row format: invalid bytes, values that do not fit a schema, and Arrow
//! arrays of a type rows do not hold.

use thiserror::Error;

/// What went wrong reading, writing or converting rows.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum RowError {
    /// Bytes that are not a valid row of the schema they were checked against.
    #[error("invalid row: {reason} (field `{field}`, byte offset {offset})")]
    Invalid {
        /// Dotted path of the field being checked (`address.city`, `tags[3]`), or `<row>`.
        field: String,
        /// Offset from the first byte of the outermost row.
        offset: usize,
        /// Which rule the bytes break.
        reason: &'static str,
    },
    /// A value given to the interpreted encoder does not match the field's type.
    #[error(
        "value for field `{field}` does not match its type: expected {expected}, found {found}"
    )]
    ValueType {
        /// Dotted path of the field.
        field: String,
        /// The schema's type.
        expected: String,
        /// What the value was.
        found: String,
    },
    /// A null given for a field or list element declared not nullable.
    #[error("null value for field `{field}`, which is not nullable")]
    NullNotAllowed {
        /// Dotted path of the field.
        field: String,
    },
    /// The number of values or columns does not match the schema's number of fields.
    #[error("expected {expected} fields, found {found}")]
    FieldCount {
        /// Fields in the schema.
        expected: usize,
        /// Values or columns given.
        found: usize,
    },
    /// An Arrow type that has no row representation, or does not match the schema.
    #[error("column `{field}`: Arrow type {arrow_type} {reason}")]
    ArrowType {
        /// Column or nested field path.
        field: String,
        /// The Arrow type found.
        arrow_type: String,
        /// Why it cannot be used.
        reason: &'static str,
    },
    /// Arrow failed to assemble an array from the decoded rows.
    #[error("building Arrow column `{field}`: {message}")]
    Arrow {
        /// Column path.
        field: String,
        /// Arrow's message.
        message: String,
    },
    /// A row is bigger than the format can address (offsets and lengths are 32-bit).
    #[error("row too large: {size} bytes exceeds the 4 GiB limit of 32-bit offsets")]
    TooLarge {
        /// The size that was needed.
        size: usize,
    },
}
