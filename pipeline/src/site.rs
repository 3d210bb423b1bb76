//! Where a transfer happens: the line that asked for it ([`Site`], from
//! `#[track_caller]`'s [`Location`]) and the function that line is in
//! ([`Symbol`], from the [`symbol!`](crate::symbol) macro at the call).
//!
//! Both are named the way the static auditor names them, so a runtime report
//! reads like the static one: a site is a path relative to the workspace root
//! and a line; a symbol is `Type::method`, `function` or `outer::inner`
//! (modules left out). The symbol comes from the compiler's name of a function
//! item the macro declares where it is used (`std::any::type_name_of_val`),
//! so it cannot drift from the code the way a typed string can; it is worked
//! out only when a site's first transfer is recorded.

use std::fmt;
use std::panic::Location;
use std::path::Path;

/// A call site, as `#[track_caller]` sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Site {
    /// The file as rustc names it (`pipeline/src/...` inside the workspace).
    pub file: &'static str,
    /// 1-based.
    pub line: u32,
    /// 1-based.
    pub column: u32,
}

impl Site {
    /// The site of the call to the outermost `#[track_caller]` function on the
    /// way here (every function between must be `#[track_caller]`; closures
    /// do not pass the location on).
    #[track_caller]
    pub fn caller() -> Site {
        let location = Location::caller();
        Site {
            file: location.file(),
            line: location.line(),
            column: location.column(),
        }
    }

    /// The file relative to the workspace root, `/`-separated
    /// (`pipeline/src/detector/postprocess.rs`).
    pub fn path(&self) -> String {
        let file = self.file.replace('\\', "/");
        if Path::new(&file).is_absolute() {
            if let Some(at) = file.rfind("/pipeline/src/") {
                return file[at + 1..].to_string();
            }
        }
        file
    }
}

/// The function a transfer is made in. Made by [`symbol!`](crate::symbol) at
/// the call (`gate.to_vec1(&t, symbol!(), "scores")`), or named explicitly
/// with [`Symbol::named`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Symbol {
    /// `module_path!()` where the macro was used; empty for a named symbol.
    module: &'static str,
    /// The compiler's name of the macro's marker function, or the given name.
    path: &'static str,
}

/// The name of the marker function [`symbol!`](crate::symbol) declares.
const MARKER: &str = "here";

/// The enclosing function's [`Symbol`], named as the static auditor names it
/// (`Tracker::update_to_host`; a closure's transfers belong to the function
/// around it).
#[macro_export]
macro_rules! symbol {
    () => {{
        fn here() {}
        $crate::transfer::Symbol::from_marker(::core::module_path!(), ::core::any::type_name_of_val(&here))
    }};
}

impl Symbol {
    /// A symbol given by name, for code outside any function worth naming (tests).
    pub const fn named(name: &'static str) -> Symbol {
        Symbol { module: "", path: name }
    }

    /// What [`symbol!`](crate::symbol) expands to: the module it is used in
    /// and the compiler's name of its marker function.
    #[doc(hidden)]
    pub const fn from_marker(module: &'static str, marker: &'static str) -> Symbol {
        Symbol { module, path: marker }
    }

    /// The function's name: `Type::method`, `function` or `outer::inner`.
    ///
    /// The compiler names the marker `crate::module::Type<_>::method::{{closure}}::here`
    /// (`crate::module::<impl crate::other::Type>::method::here` for an impl
    /// written in another module, `<crate::Type as crate::Trait>::method::here`
    /// in a trait impl): the module, the marker, closures and generic
    /// arguments are dropped and a type keeps its last segment.
    pub fn name(&self) -> String {
        if self.module.is_empty() {
            return self.path.to_string();
        }
        let mut path = self
            .path
            .strip_suffix(MARKER)
            .and_then(|p| p.strip_suffix("::"))
            .unwrap_or(self.path);
        while let Some(outer) = path.strip_suffix("::{{closure}}") {
            path = outer;
        }
        let path = path
            .strip_prefix(self.module)
            .and_then(|p| p.strip_prefix("::"))
            .unwrap_or(path);
        segments(path).map(segment_name).collect::<Vec<_>>().join("::")
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// The `::`-separated segments of a path, not splitting inside `<...>`.
fn segments(path: &str) -> impl Iterator<Item = &str> {
    let mut depth = 0usize;
    let mut start = 0;
    let mut cuts = Vec::new();
    let bytes = path.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'<' => depth += 1,
            b'>' => depth = depth.saturating_sub(1),
            b':' if depth == 0 && bytes.get(i + 1) == Some(&b':') => {
                cuts.push(&path[start..i]);
                start = i + 2;
                i += 1;
            }
            _ => {}
        }
        i += 1;
    }
    cuts.push(&path[start..]);
    cuts.into_iter()
}

/// One segment as the static auditor writes it: `Type<_>` → `Type`;
/// `<impl crate::m::Type>`, `<impl Trait for crate::m::Type>` and
/// `<crate::m::Type as crate::Trait>` → `Type`.
fn segment_name(segment: &str) -> String {
    let segment = match segment.strip_prefix('<').and_then(|s| s.strip_suffix('>')) {
        Some(inner) => {
            let self_type = match inner.strip_prefix("impl ") {
                Some(imp) => imp.split_once(" for ").map_or(imp, |(_, ty)| ty),
                None => inner.split_once(" as ").map_or(inner, |(ty, _)| ty),
            };
            let self_type = self_type.trim_start_matches(['&', '*']).trim_start_matches("mut ");
            segments(self_type).last().unwrap_or(self_type)
        }
        None => segment,
    };
    match segment.find('<') {
        Some(at) => segment[..at].to_string(),
        None => segment.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Plain;
    struct Generic<T>(T);
    trait Named {
        fn named(&self) -> Symbol;
    }

    impl Plain {
        fn method(&self) -> Symbol {
            crate::symbol!()
        }
        #[allow(clippy::redundant_closure_call)] // a closure inside a closure, on purpose
        fn in_closure(&self) -> Symbol {
            let f = || (|| crate::symbol!())();
            f()
        }
    }

    impl<T> Generic<T> {
        fn method(&self) -> Symbol {
            crate::symbol!()
        }
    }

    impl Named for Generic<u8> {
        fn named(&self) -> Symbol {
            crate::symbol!()
        }
    }

    fn free() -> Symbol {
        crate::symbol!()
    }

    fn outer() -> Symbol {
        fn inner() -> Symbol {
            crate::symbol!()
        }
        inner()
    }

    mod elsewhere {
        impl super::Plain {
            #[allow(clippy::wrong_self_convention)] // the name says where it is defined
            pub(super) fn from_another_module(&self) -> super::Symbol {
                crate::symbol!()
            }
        }
    }

    #[test]
    fn symbols_are_named_like_the_static_report() {
        assert_eq!(Plain.method().name(), "Plain::method");
        assert_eq!(Plain.in_closure().name(), "Plain::in_closure");
        assert_eq!(Generic(1u32).method().name(), "Generic::method");
        assert_eq!(Generic(1u8).named().name(), "Generic::named");
        assert_eq!(free().name(), "free");
        assert_eq!(outer().name(), "outer::inner");
        assert_eq!(Plain.from_another_module().name(), "Plain::from_another_module");
        assert_eq!(Symbol::named("test").name(), "test");
    }

    #[test]
    fn segments_split_outside_angle_brackets() {
        let parts: Vec<&str> = segments("<a::B<c::D> as e::F>::g::h").collect();
        assert_eq!(parts, ["<a::B<c::D> as e::F>", "g", "h"]);
        assert_eq!(segment_name("<impl a::b::C<_>>"), "C");
        assert_eq!(segment_name("<&a::B as c::D>"), "B");
        assert_eq!(segment_name("<impl c::D for a::B<u8>>"), "B");
    }
}
