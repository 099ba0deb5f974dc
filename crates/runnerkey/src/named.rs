//! The crate's enums spelled by name (`as_str`): their `Display` is the
//! name, padding honoured (`{:<10}` lines up a table).

/// Implements `Display` through `as_str()` for each type given.
macro_rules! display_as_str {
    ($($t:ty),+ $(,)?) => {$(
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.pad(self.as_str())
            }
        }
    )+};
}
pub(crate) use display_as_str;
