//! [`Str`]: Ember's string for hot paths. Up to [`INLINE_CAPACITY`] bytes it lives inline in
//! its 24 bytes (no allocation), which covers words, keys and most identifiers. A longer string
//! is a reference-counted handle to text held elsewhere, and a range in it: read from an
//! Arrow batch, the batch's immutable values buffer, so reading a batch's lines allocates once
//! per batch read rather than once per line (and cloning one is a count increment); built from
//! other text, a boxed copy of it.
//!
//! A `Str` read from a batch keeps the batch's whole buffer alive; [`Str::new`] of its text
//! makes a copy that does not.
//!
//! Building an inline `Str` copies the bytes with a few fixed-size moves chosen by length
//! rather than a call to `memcpy`. On the word-count input a `compact_str::CompactString`,
//! which copies through `memcpy`, took 11–13 ns a word to build here; `Str::new` takes about a
//! fifth of that (docs/benchmarks.md).

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::sync::Arc;

use arrow_buffer::Buffer;

/// Bytes a [`Str`] holds without allocating.
pub const INLINE_CAPACITY: usize = 22;

/// An immutable string that keeps up to [`INLINE_CAPACITY`] bytes inline. It dereferences to
/// `str`, and compares, orders and hashes as its `str` does, whatever its storage.
pub struct Str(Repr);

/// The inline form is 8-byte aligned and `Copy`, and its length is an enum whose unused
/// values hold the variant tag: cloning an inline `Str` is three word moves. (With a plain
/// `u8` length and a separate tag, a clone became overlapping narrow moves through the stack
/// that stalled the loads after them.)
enum Repr {
    Inline(Inline),
    Long(LongText),
}

/// Text that [`Str`]s longer than [`INLINE_CAPACITY`] bytes hold a handle to.
pub(crate) enum SharedText {
    /// An immutable buffer that many strings are ranges of: the values buffer of an Arrow
    /// string column, say.
    Buffer(Buffer),
    /// One string's own copy.
    Whole(Box<str>),
}

impl SharedText {
    /// Shares `bytes`. (An Arrow `Buffer` clone is a reference-count increment; no copy.)
    pub(crate) fn new(bytes: Buffer) -> Arc<SharedText> {
        Arc::new(SharedText::Buffer(bytes))
    }
}

/// A long string: all of `owner`'s text if it is [`SharedText::Whole`] (`range` unused, so a
/// string of any length fits), else `owner`'s bytes `start..start + len`, with `start` in the
/// low 32 bits of `range` and `len` in the high 32.
///
/// One 64-bit range rather than two `u32` fields: with those, every move of a `Str` (inline
/// ones too) was split into 4- and 2-byte moves that followed them.
///
/// Invariant: those bytes of a `Buffer` are UTF-8: they were a `&str` inside the buffer when
/// the range was made, and the buffer is immutable while `owner` holds it (an Arrow `Buffer`
/// with another handle to it cannot be made mutable).
///
/// `owner` is `None` only while the string is being dropped.
struct LongText {
    owner: Option<Arc<SharedText>>,
    range: u64,
}

impl Drop for LongText {
    /// The reference-count decrement is out of line, and given the handle by value: inlined,
    /// or given the `Str`'s address, it made the word count's loops keep every `Str` (inline
    /// ones too) in memory, 33–41 more instructions a word.
    #[inline]
    fn drop(&mut self) {
        if let Some(owner) = self.owner.take() {
            release(owner);
        }
    }
}

#[inline(never)]
fn release(owner: Arc<SharedText>) {
    drop(owner);
}

impl Clone for LongText {
    #[inline]
    fn clone(&self) -> LongText {
        LongText { owner: self.owner.clone(), range: self.range }
    }
}

impl LongText {
    /// A string's own copy of `text`.
    fn whole(text: Box<str>) -> LongText {
        LongText { owner: Some(Arc::new(SharedText::Whole(text))), range: 0 }
    }

    /// Bytes `start..start + len` of a shared buffer.
    fn in_buffer(owner: Arc<SharedText>, start: u32, len: u32) -> LongText {
        LongText { owner: Some(owner), range: u64::from(start) | u64::from(len) << 32 }
    }

    /// `start` and `len` of a range of a buffer.
    #[inline]
    fn bounds(&self) -> (u32, u32) {
        (self.range as u32, (self.range >> 32) as u32)
    }

    /// The text it holds a handle to, if it is a range of a shared buffer.
    #[inline]
    fn buffer(&self) -> Option<&Buffer> {
        match self.owner.as_deref() {
            Some(SharedText::Buffer(buffer)) => Some(buffer),
            _ => None,
        }
    }

    #[inline]
    fn as_str(&self) -> &str {
        match self.owner.as_deref() {
            None => "",
            Some(SharedText::Whole(text)) => text,
            Some(SharedText::Buffer(buffer)) => {
                let (start, len) = self.bounds();
                let (start, len) = (start as usize, len as usize);
                let bytes = &buffer.as_slice()[start..start + len];
                // SAFETY: by `LongText`'s invariant these bytes were a `&str` and have not
                // changed since. Checking them on every read would cost as much as the copy
                // sharing saves.
                unsafe { std::str::from_utf8_unchecked(bytes) }
            }
        }
    }
}

/// Invariant: `bytes[..len]` is UTF-8, copied whole from a `&str` by [`Str::new`], and
/// `bytes[len..]` is zeros.
#[derive(Clone, Copy)]
#[repr(C, align(8))]
struct Inline {
    bytes: [u8; INLINE_CAPACITY],
    len: InlineLen,
}

/// A length from 0 to [`INLINE_CAPACITY`].
#[derive(Clone, Copy)]
#[repr(u8)]
#[rustfmt::skip]
enum InlineLen {
    L0, L1, L2, L3, L4, L5, L6, L7, L8, L9, L10, L11, L12, L13, L14, L15, L16, L17, L18, L19,
    L20, L21, L22,
}

/// `INLINE_LENS[n]` is the length `n`.
#[rustfmt::skip]
const INLINE_LENS: [InlineLen; INLINE_CAPACITY + 1] = {
    use InlineLen::*;
    [
        L0, L1, L2, L3, L4, L5, L6, L7, L8, L9, L10, L11, L12, L13, L14, L15, L16, L17, L18,
        L19, L20, L21, L22,
    ]
};

impl Clone for Str {
    /// An inline `Str` is copied as it stands; a long one shares its text.
    #[inline]
    fn clone(&self) -> Str {
        match &self.0 {
            Repr::Inline(inline) => Str(Repr::Inline(*inline)),
            Repr::Long(long) => Str(Repr::Long(long.clone())),
        }
    }
}

const _: () = assert!(std::mem::size_of::<Str>() == 24);
const _: () = assert!(std::mem::size_of::<Option<Str>>() == 24);

impl Str {
    /// `text` as a `Str`; copies it to the heap only if it is longer than [`INLINE_CAPACITY`]
    /// bytes.
    #[inline]
    pub fn new(text: &str) -> Str {
        let src = text.as_bytes();
        let len = src.len();
        if len > INLINE_CAPACITY {
            return Str(Repr::Long(LongText::whole(Box::from(text))));
        }
        let mut bytes = [0u8; INLINE_CAPACITY];
        // Two possibly overlapping fixed-size copies cover every length of a class.
        match len {
            16.. => {
                bytes[..16].copy_from_slice(&src[..16]);
                bytes[len - 16..len].copy_from_slice(&src[len - 16..]);
            }
            8..16 => {
                bytes[..8].copy_from_slice(&src[..8]);
                bytes[len - 8..len].copy_from_slice(&src[len - 8..]);
            }
            4..8 => {
                bytes[..4].copy_from_slice(&src[..4]);
                bytes[len - 4..len].copy_from_slice(&src[len - 4..]);
            }
            1..4 => {
                bytes[0] = src[0];
                bytes[len / 2] = src[len / 2];
                bytes[len - 1] = src[len - 1];
            }
            0 => {}
        }
        Str(Repr::Inline(Inline { bytes, len: INLINE_LENS[len] }))
    }

    /// `text`, which lies in `owner`'s buffer, as a `Str`: inline up to [`INLINE_CAPACITY`]
    /// bytes, else a shared range of the buffer (no allocation). Text outside the buffer, or
    /// beyond the 4 GiB a range addresses, is copied.
    #[inline]
    pub(crate) fn shared(owner: &Arc<SharedText>, text: &str) -> Str {
        if text.len() <= INLINE_CAPACITY {
            return Str::new(text);
        }
        let SharedText::Buffer(buffer) = &**owner else {
            return Str::new(text);
        };
        let start = (text.as_ptr() as usize).wrapping_sub(buffer.as_ptr() as usize);
        let inside = start <= buffer.len() && text.len() <= buffer.len() - start;
        match (inside, u32::try_from(start), u32::try_from(text.len())) {
            (true, Ok(start), Ok(len)) => {
                Str(Repr::Long(LongText::in_buffer(Arc::clone(owner), start, len)))
            }
            _ => Str::new(text),
        }
    }

    /// `self[at..end]`, which must be on char boundaries (it panics otherwise, as slicing a
    /// `str` does). A piece of a shared string longer than [`INLINE_CAPACITY`] shares its
    /// buffer too.
    #[inline]
    pub(crate) fn substring(&self, at: usize, end: usize) -> Str {
        let text = &self.as_str()[at..end];
        match &self.0 {
            Repr::Long(LongText { owner: Some(owner), .. }) => Str::shared(owner, text),
            _ => Str::new(text),
        }
    }

    /// The inline `Str` of the first `len` bytes that `low` and `high` hold in little-endian
    /// order. Built from two words, it is stored with two word-sized moves.
    ///
    /// # Safety
    /// `len` must be at most 16, those `len` bytes UTF-8, and every byte past them zero.
    #[inline]
    pub(crate) unsafe fn from_utf8_words(low: u64, high: u64, len: usize) -> Str {
        debug_assert!(len <= 16);
        let mut bytes = [0u8; INLINE_CAPACITY];
        bytes[..8].copy_from_slice(&low.to_le_bytes());
        bytes[8..16].copy_from_slice(&high.to_le_bytes());
        debug_assert!(
            std::str::from_utf8(&bytes[..len]).is_ok()
                && bytes[len..] == [0; INLINE_CAPACITY][len..]
        );
        Str(Repr::Inline(Inline { bytes, len: INLINE_LENS[len.min(16)] }))
    }

    /// The string.
    #[inline]
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Inline(Inline { bytes, len }) => {
                let bytes = &bytes[..*len as usize];
                // SAFETY: an `Inline` is only built by `Str::new` (and `Default`, empty),
                // which copies all of a `&str`'s bytes, so `bytes[..len]` is exactly that
                // valid UTF-8. Checking it on every access would cost as much as the copy
                // `new` saves.
                unsafe { std::str::from_utf8_unchecked(bytes) }
            }
            Repr::Long(long) => long.as_str(),
        }
    }

    /// Whether the string is stored inline (built without allocating).
    pub fn is_inline(&self) -> bool {
        matches!(self.0, Repr::Inline(_))
    }

    /// Whether the string is a range of a buffer shared with other strings.
    pub fn is_shared(&self) -> bool {
        matches!(&self.0, Repr::Long(long) if long.buffer().is_some())
    }

    /// For a string of at most 16 bytes stored inline: its first 16 bytes of storage (the
    /// string, then zeros) and its length. One fixed-size copy of them is the string
    /// zero-padded to 16 bytes, without a length-dependent copy.
    #[inline]
    pub(crate) fn padded16(&self) -> Option<(&[u8; 16], usize)> {
        match &self.0 {
            Repr::Inline(Inline { bytes, len }) if (*len as usize) <= 16 => {
                bytes.first_chunk::<16>().map(|b| (b, *len as usize))
            }
            _ => None,
        }
    }
}

impl Default for Str {
    fn default() -> Str {
        Str(Repr::Inline(Inline { bytes: [0; INLINE_CAPACITY], len: InlineLen::L0 }))
    }
}

impl Deref for Str {
    type Target = str;
    #[inline]
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Str {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<[u8]> for Str {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl Borrow<str> for Str {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for Str {
    #[inline]
    fn eq(&self, other: &Str) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Str {}

impl PartialEq<str> for Str {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Str {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for Str {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other.as_str()
    }
}

impl PartialEq<Str> for str {
    fn eq(&self, other: &Str) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<Str> for &str {
    fn eq(&self, other: &Str) -> bool {
        *self == other.as_str()
    }
}

impl PartialOrd for Str {
    fn partial_cmp(&self, other: &Str) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Str {
    fn cmp(&self, other: &Str) -> Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl Hash for Str {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl fmt::Debug for Str {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Str {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_str(), f)
    }
}

impl From<&str> for Str {
    #[inline]
    fn from(text: &str) -> Str {
        Str::new(text)
    }
}

impl From<&String> for Str {
    fn from(text: &String) -> Str {
        Str::new(text)
    }
}

impl From<String> for Str {
    fn from(text: String) -> Str {
        if text.len() <= INLINE_CAPACITY {
            Str::new(&text)
        } else {
            Str(Repr::Long(LongText::whole(text.into_boxed_str())))
        }
    }
}

impl From<Box<str>> for Str {
    fn from(text: Box<str>) -> Str {
        if text.len() <= INLINE_CAPACITY {
            Str::new(&text)
        } else {
            Str(Repr::Long(LongText::whole(text)))
        }
    }
}

impl From<Str> for String {
    fn from(text: Str) -> String {
        text.as_str().to_owned()
    }
}

impl std::str::FromStr for Str {
    type Err = std::convert::Infallible;
    fn from_str(text: &str) -> Result<Str, Self::Err> {
        Ok(Str::new(text))
    }
}

impl FromIterator<char> for Str {
    fn from_iter<I: IntoIterator<Item = char>>(chars: I) -> Str {
        Str::from(chars.into_iter().collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_length_round_trips_inline_up_to_capacity() {
        let text: String = ('a'..='z').chain('A'..='Z').collect();
        for len in 0..=text.len() {
            let s = Str::new(&text[..len]);
            assert_eq!(s.as_str(), &text[..len], "length {len}");
            assert_eq!(s.is_inline(), len <= INLINE_CAPACITY, "length {len}");
            assert_eq!(s.clone(), s);
            assert_eq!(String::from(s.clone()), &text[..len]);
            assert_eq!(Str::from(text[..len].to_owned()), s);
        }
    }

    #[test]
    fn multi_byte_characters_at_every_boundary() {
        let text = "é€𝄞aé€𝄞bé€𝄞cé€𝄞";
        for (start, _) in text.char_indices() {
            for end in (start..=text.len()).filter(|&e| text.is_char_boundary(e)) {
                assert_eq!(Str::new(&text[start..end]).as_str(), &text[start..end]);
            }
        }
    }

    #[test]
    fn shared_ranges_read_their_bytes_and_outlive_the_buffer_handle() {
        let text = "a line of text longer than the inline capacity, é€𝄞 and more words";
        let buffer = Buffer::from_vec(text.as_bytes().to_vec());
        let owner = SharedText::new(buffer.clone());
        let in_buffer = std::str::from_utf8(buffer.as_slice()).unwrap();
        let mut strings = Vec::new();
        for (start, _) in in_buffer.char_indices() {
            for end in (start..=in_buffer.len()).filter(|&e| in_buffer.is_char_boundary(e)) {
                let s = Str::shared(&owner, &in_buffer[start..end]);
                assert_eq!(s.as_str(), &text[start..end]);
                assert_eq!(s.is_shared(), end - start > INLINE_CAPACITY, "{start}..{end}");
                assert_eq!(s.is_inline(), end - start <= INLINE_CAPACITY);
                strings.push((start, end, s));
            }
        }
        drop(owner);
        for (start, end, s) in &strings {
            assert_eq!(s.clone().as_str(), &text[*start..*end]);
            assert_eq!(String::from(s.clone()), &text[*start..*end]);
        }
    }

    #[test]
    fn substrings_of_every_storage_match_str_slicing() {
        let text = "0123456789abcdefghijklmnopqrstuvwxyz-é€𝄞-ABCDEFGHIJ";
        let buffer = Buffer::from_vec(text.as_bytes().to_vec());
        let owner = SharedText::new(buffer.clone());
        let shared = Str::shared(&owner, std::str::from_utf8(buffer.as_slice()).unwrap());
        assert!(shared.is_shared());
        for whole in [shared, Str::new(text), Str::new(&text[..20])] {
            for (at, _) in whole.char_indices() {
                for end in (at..=whole.len()).filter(|&e| whole.is_char_boundary(e)) {
                    let piece = whole.substring(at, end);
                    assert_eq!(piece.as_str(), &whole[at..end]);
                    assert_eq!(piece.is_inline(), end - at <= INLINE_CAPACITY);
                    assert_eq!(piece.is_shared(), whole.is_shared() && !piece.is_inline());
                }
            }
        }
    }

    #[test]
    fn text_outside_the_shared_buffer_is_copied() {
        let owner = SharedText::new(Buffer::from_vec(b"short".to_vec()));
        let elsewhere = "a string that is not in the shared buffer at all";
        let s = Str::shared(&owner, elsewhere);
        assert_eq!(s.as_str(), elsewhere);
        assert!(!s.is_shared());
    }

    #[test]
    fn orders_and_hashes_as_str() {
        use std::collections::hash_map::DefaultHasher;
        let hash = |h: &dyn Fn(&mut DefaultHasher)| {
            let mut state = DefaultHasher::new();
            h(&mut state);
            state.finish()
        };
        let words = ["", "a", "ab", "b", "a-string-longer-than-the-inline-capacity"];
        for a in words {
            for b in words {
                assert_eq!(Str::new(a).cmp(&Str::new(b)), a.cmp(b));
            }
            assert_eq!(hash(&|s| Str::new(a).hash(s)), hash(&|s| a.hash(s)));
        }
    }
}
