//! Compile-time checks of `#[derive(Row)]`: every unsupported shape is an error that names
//! the field or the type, and a struct using every supported field type compiles and runs.

#[test]
fn derive_ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/fail_*.rs");
    cases.pass("tests/ui/pass_all_types.rs");
}

/// Fields named like the view's own methods (`row`, `to_owned`) must still derive.
#[test]
fn derive_fields_named_like_view_methods() {
    trybuild::TestCases::new().pass("tests/ui/pass_fields_named_like_view_methods.rs");
}
