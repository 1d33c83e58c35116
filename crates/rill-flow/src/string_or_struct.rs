//! Lets a step be written in short form (`map: "x + 1"`) or long form
//! (`map: {expr: "x + 1", name: inc}`), with the long form's errors intact.

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use std::marker::PhantomData;

/// A config that can be built from a single string (its main option).
pub trait StringOrStruct: Sized {
    /// Builds the config from the short form.
    fn from_string(s: String) -> Self;
}

/// Deserializes `T` from a string (short form) or a map (long form).
pub fn deserialize<'de, T, D>(d: D) -> Result<T, D::Error>
where
    T: StringOrStruct + Deserialize<'de>,
    D: Deserializer<'de>,
{
    struct V<T>(PhantomData<T>);
    impl<'de, T: StringOrStruct + Deserialize<'de>> Visitor<'de> for V<T> {
        type Value = T;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an expression string or a map of options")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
            Ok(T::from_string(v.to_string()))
        }
        fn visit_map<M: MapAccess<'de>>(self, m: M) -> Result<T, M::Error> {
            T::deserialize(de::value::MapAccessDeserializer::new(m))
        }
    }
    d.deserialize_any(V(PhantomData))
}
