//! The Java classes the records stand for: their descriptors (fields in the JDK's order, pinned
//! `serialVersionUID`s) and the field-by-field mapping between a record and its serial data.
//!
//! The classes are in `serde-bench/jvm/src/ember/bench/`; a golden-file test proves these
//! descriptors are the bytes the JDK writes for them.

use super::class_desc::{FieldType, JavaClass, JavaField};
use super::error::JavaError;
use super::reader::ObjectReader;
use super::writer::ObjectWriter;
use crate::data::{Person, Wide, WordCount};
use crate::record::Record;

/// A record that maps onto a `Serializable` Java class without `writeObject`.
///
/// `write_fields` and `read_fields` handle the fields in the order of `class().fields`: the
/// primitive values first, then the object fields, as `defaultWriteObject` does.
pub trait JavaRecord: Record {
    /// The class descriptor.
    fn class() -> &'static JavaClass;
    /// Writes the serial data of `self`.
    fn write_fields(&self, w: &mut ObjectWriter<'_>);
    /// Reads the serial data of one record.
    fn read_fields(r: &mut ObjectReader<'_, '_>) -> Result<Self, JavaError>;
}

use FieldType::{
    Boolean as Z, BoxedDouble, BoxedInt, BoxedLong, Double as D, Int as I, Long as J, String as Str,
};

static PERSON: JavaClass = JavaClass::new(
    Person::JAVA_CLASS,
    7_391_004_112_838_601_291,
    &[
        JavaField::new("age", I),
        JavaField::new("id", J),
        JavaField::new("score", D),
        JavaField::new("city", Str),
        JavaField::new("name", Str),
    ],
);

impl JavaRecord for Person {
    fn class() -> &'static JavaClass {
        &PERSON
    }

    #[inline]
    fn write_fields(&self, w: &mut ObjectWriter<'_>) {
        w.int(self.age);
        w.long(self.id);
        w.double(self.score);
        w.string(&self.city);
        w.string(&self.name);
    }

    #[inline]
    fn read_fields(r: &mut ObjectReader<'_, '_>) -> Result<Self, JavaError> {
        let age = r.int()?;
        let id = r.long()?;
        let score = r.double()?;
        let city = r.string()?;
        let name = r.string()?;
        Ok(Person { id, name, age, city, score })
    }
}

static WORD_COUNT: JavaClass = JavaClass::new(
    WordCount::JAVA_CLASS,
    5_118_620_341_972_540_113,
    &[JavaField::new("count", J), JavaField::new("word", Str)],
);

impl JavaRecord for WordCount {
    fn class() -> &'static JavaClass {
        &WORD_COUNT
    }

    #[inline]
    fn write_fields(&self, w: &mut ObjectWriter<'_>) {
        w.long(self.count);
        w.string(&self.word);
    }

    #[inline]
    fn read_fields(r: &mut ObjectReader<'_, '_>) -> Result<Self, JavaError> {
        let count = r.long()?;
        let word = r.string()?;
        Ok(WordCount { word, count })
    }
}

static WIDE: JavaClass = JavaClass::new(
    Wide::JAVA_CLASS,
    -2_145_992_716_405_123_877,
    &[
        JavaField::new("amount", J),
        JavaField::new("created_ms", J),
        JavaField::new("flagged", Z),
        JavaField::new("id", J),
        JavaField::new("in_stock", Z),
        JavaField::new("price", D),
        JavaField::new("quantity", I),
        JavaField::new("rating", I),
        JavaField::new("ratio", D),
        JavaField::new("visits", I),
        JavaField::new("weight", D),
        JavaField::new("category", Str),
        JavaField::new("code", Str),
        JavaField::new("comment", Str),
        JavaField::new("discount", BoxedDouble),
        JavaField::new("label", Str),
        JavaField::new("level", BoxedInt),
        JavaField::new("parent_id", BoxedLong),
        JavaField::new("priority", BoxedInt),
        JavaField::new("region", Str),
    ],
);

impl JavaRecord for Wide {
    fn class() -> &'static JavaClass {
        &WIDE
    }

    #[inline]
    fn write_fields(&self, w: &mut ObjectWriter<'_>) {
        w.long(self.amount);
        w.long(self.created_ms);
        w.boolean(self.flagged);
        w.long(self.id);
        w.boolean(self.in_stock);
        w.double(self.price);
        w.int(self.quantity);
        w.int(self.rating);
        w.double(self.ratio);
        w.int(self.visits);
        w.double(self.weight);
        w.string(&self.category);
        w.string(&self.code);
        w.opt_string(self.comment.as_deref());
        w.boxed_double(self.discount);
        w.string(&self.label);
        w.boxed_int(self.level);
        w.boxed_long(self.parent_id);
        w.boxed_int(self.priority);
        w.opt_string(self.region.as_deref());
    }

    #[inline]
    fn read_fields(r: &mut ObjectReader<'_, '_>) -> Result<Self, JavaError> {
        let amount = r.long()?;
        let created_ms = r.long()?;
        let flagged = r.boolean()?;
        let id = r.long()?;
        let in_stock = r.boolean()?;
        let price = r.double()?;
        let quantity = r.int()?;
        let rating = r.int()?;
        let ratio = r.double()?;
        let visits = r.int()?;
        let weight = r.double()?;
        let category = r.string()?;
        let code = r.string()?;
        let comment = r.opt_string()?;
        let discount = r.boxed_double()?;
        let label = r.string()?;
        let level = r.boxed_int()?;
        let parent_id = r.boxed_long()?;
        let priority = r.boxed_int()?;
        let region = r.opt_string()?;
        Ok(Wide {
            id,
            category,
            quantity,
            price,
            in_stock,
            label,
            created_ms,
            rating,
            ratio,
            flagged,
            comment,
            parent_id,
            level,
            discount,
            region,
            amount,
            visits,
            weight,
            code,
            priority,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::java::class_desc::is_jdk_field_order;

    #[test]
    fn record_classes_list_fields_in_jdk_order() {
        for class in [Person::class(), Wide::class(), WordCount::class()] {
            assert!(is_jdk_field_order(class.fields), "{}", class.name);
        }
        assert_eq!(Wide::class().fields.len(), 20);
    }
}
