//! The errors of the Java analogue's reader and writer.

/// Why a Java serialization stream could not be read (or, for a few, written).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JavaError {
    #[error("stream ends early at byte {offset}")]
    Truncated { offset: usize },
    #[error("stream header is {found:#010x}, expected 0xaced0005")]
    BadHeader { found: u32 },
    #[error("unexpected type code {code:#04x} at byte {offset}: expected {expected}")]
    UnexpectedTypeCode { code: u8, offset: usize, expected: &'static str },
    #[error("handle {handle:#x} at byte {offset} was never assigned")]
    UnknownHandle { handle: u32, offset: usize },
    #[error("handle {handle:#x} at byte {offset} refers to {found}, expected {expected}")]
    HandleType { handle: u32, offset: usize, found: &'static str, expected: &'static str },
    #[error("class descriptor at byte {offset} does not match {class}: {detail}")]
    ClassMismatch { offset: usize, class: &'static str, detail: &'static str },
    #[error("null {what} at byte {offset}, which the Rust record cannot hold")]
    UnexpectedNull { what: &'static str, offset: usize },
    #[error("string at byte {offset} is not valid modified UTF-8")]
    InvalidModifiedUtf8 { offset: usize },
    #[error("string at byte {offset} holds an unpaired surrogate, which a Rust string cannot hold")]
    UnpairedSurrogate { offset: usize },
}
