//! `#[derive(Row)]`: generates, at compile time, the binary-row encoder, decoder and a
//! zero-copy view for a struct with named fields (Spark generates Java code for the same
//! job at run time).
//!
//! For `struct Person { id: i64, name: String }` it implements `ember::row::RowType` (schema,
//! encode, decode), `ember::row::RowField` (so `Person` can be a field or list element of
//! another derived struct), and defines `PersonView<'a>` with one getter per field
//! (`name(&self) -> &'a str`) that reads the row's bytes in place.
//!
//! Field types: `bool`, `i8`, `i16`, `i32`, `i64`, `f32`, `f64`, `String`, `Vec<u8>` (binary),
//! `Option<T>` (nullable), `Vec<T>` (list), and other `#[derive(Row)]` structs. Anything
//! else is a compile error naming the field.

use proc_macro::TokenStream;
use proc_macro2::TokenStream as TokenStream2;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields, GenericArgument, PathArguments, Type, parse_macro_input};

/// Derives `ember::row::RowType` and `ember::row::RowField`, and a `{Name}View<'a>` type.
#[proc_macro_derive(Row)]
pub fn derive_row(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    match expand(&input) {
        Ok(tokens) => tokens.into(),
        Err(error) => error.to_compile_error().into(),
    }
}

fn expand(input: &DeriveInput) -> syn::Result<TokenStream2> {
    let name = &input.ident;
    if !input.generics.params.is_empty() {
        return Err(syn::Error::new(
            input.generics.span(),
            format!("#[derive(Row)] does not support generic structs (`{name}`)"),
        ));
    }
    let Data::Struct(data) = &input.data else {
        return Err(syn::Error::new(
            input.ident.span(),
            format!("#[derive(Row)] supports structs with named fields; `{name}` is not a struct"),
        ));
    };
    let Fields::Named(named) = &data.fields else {
        return Err(syn::Error::new(
            data.fields.span(),
            format!("#[derive(Row)] needs named fields; `{name}` has none or is a tuple struct"),
        ));
    };

    let mut errors: Option<syn::Error> = None;
    for field in &named.named {
        let field_name = field.ident.as_ref().expect("named field");
        if let Err(e) = check_type(&field.ty, &field_name.to_string()) {
            match &mut errors {
                Some(all) => all.combine(e),
                None => errors = Some(e),
            }
        }
    }
    if let Some(e) = errors {
        return Err(e);
    }

    let view = format_ident!("{}View", name);
    let vis = &input.vis;
    let krate = quote!(::ember::row);

    let mut schema_fields = Vec::new();
    let mut writes = Vec::new();
    let mut var_sizes = Vec::new();
    let mut reads = Vec::new();
    let mut getters = Vec::new();
    let mut debug_fields = Vec::new();
    for (index, field) in named.named.iter().enumerate() {
        let ident = field.ident.as_ref().expect("named field");
        let ty = &field.ty;
        let label = ident.to_string();
        let label = label.strip_prefix("r#").unwrap_or(&label);
        let span = ty.span();
        schema_fields.push(quote_spanned! {span=>
            #krate::Field::new(
                #label,
                <#ty as #krate::RowField>::data_type(),
                <#ty as #krate::RowField>::NULLABLE,
            )
        });
        // Every use of the field's type carries its span, so an unsupported type is reported
        // once per use at the field, not at the derive.
        writes.push(quote_spanned! {span=> <#ty as #krate::RowField>::write(&self.#ident, builder, #index); });
        var_sizes.push(quote_spanned! {span=> <#ty as #krate::RowField>::var_size(&self.#ident) });
        reads.push(quote_spanned! {span=> #ident: <#ty as #krate::RowField>::read(&row, #index) });
        let doc = format!("Field `{label}`, read in place.");
        getters.push(quote_spanned! {span=>
            #[doc = #doc]
            #[inline]
            pub fn #ident(&self) -> <#ty as #krate::RowField>::Ref<'a> {
                <#ty as #krate::RowField>::read_ref(&self.row, #index)
            }
        });
        debug_fields.push(quote! { .field(#label, &self.#ident()) });
    }
    let flat_encoder = if named.named.iter().all(|f| is_flat(&f.ty)) {
        flat_encode_into(named, &krate)
    } else {
        quote!()
    };
    let view_doc = format!("A zero-copy view of a `{name}` row: getters read the bytes in place.");
    let name_str = name.to_string();
    let num_fields = named.named.len();

    Ok(quote! {
        // SAFETY: `encode` writes every field through a checked `RowBuilder` of `schema()`, and
        // the straight-line `encode_into` of a flat struct (if any) writes the same layout,
        // computed from the same field types that `schema()` is built from.
        unsafe impl #krate::RowType for #name {
            type View<'a> = #view<'a>;

            fn schema() -> &'static ::std::sync::Arc<#krate::Schema> {
                static SCHEMA: ::std::sync::OnceLock<::std::sync::Arc<#krate::Schema>> =
                    ::std::sync::OnceLock::new();
                SCHEMA.get_or_init(|| {
                    ::std::sync::Arc::new(#krate::Schema::new(::std::vec![#(#schema_fields),*]))
                })
            }

            #[inline]
            fn var_size(&self) -> usize {
                0 #(+ #var_sizes)*
            }

            #[inline]
            fn encode(&self, builder: &mut #krate::RowBuilder<'_>) {
                #(#writes)*
            }

            #flat_encoder

            #[inline]
            fn decode(row: #krate::Row<'_>) -> Self {
                #krate::check_schema::<Self>(&row);
                #name { #(#reads),* }
            }

            #[inline]
            fn view(row: #krate::Row<'_>) -> #view<'_> {
                #krate::check_schema::<Self>(&row);
                #view { row }
            }
        }

        impl #krate::RowField for #name {
            type Ref<'a> = #view<'a>;
            const KIND: #krate::Kind = #krate::Kind::Struct;

            #[inline]
            fn var_size(&self) -> usize {
                #krate::bitset_bytes(#num_fields)
                    + #krate::SLOT_BYTES * #num_fields
                    + <Self as #krate::RowType>::var_size(self)
            }

            fn data_type() -> #krate::DataType {
                #krate::DataType::Struct(::std::clone::Clone::clone(
                    <Self as #krate::RowType>::schema(),
                ))
            }

            #[inline]
            fn write(&self, sink: &mut impl #krate::FieldSink, i: usize) {
                sink.write_struct(i, |builder| {
                    builder.reserve_var(<Self as #krate::RowType>::var_size(self));
                    #krate::RowType::encode(self, builder)
                });
            }

            #[inline]
            fn read<'a>(source: &impl #krate::FieldSource<'a>, i: usize) -> Self {
                <Self as #krate::RowType>::decode(source.get_struct(i))
            }

            #[inline]
            fn read_ref<'a>(source: &impl #krate::FieldSource<'a>, i: usize) -> #view<'a> {
                <Self as #krate::RowType>::view(source.get_struct(i))
            }
        }

        #[doc = #view_doc]
        #[derive(Clone, Copy)]
        #vis struct #view<'a> {
            row: #krate::Row<'a>,
        }

        impl<'a> #view<'a> {
            #(#getters)*
        }

        impl<'a> #krate::RowView<'a> for #view<'a> {
            type Owned = #name;

            #[inline]
            fn row(&self) -> #krate::Row<'a> {
                self.row
            }

            fn decode(&self) -> #name {
                <#name as #krate::RowType>::decode(self.row)
            }
        }

        impl ::std::fmt::Debug for #view<'_> {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.debug_struct(#name_str) #(#debug_fields)* .finish()
            }
        }
    })
}

/// Whether a field type is a flat leaf (a primitive, `String`, `Vec<u8>`) or an `Option` of
/// one: a struct of only such fields gets the straight-line encoder.
fn is_flat(ty: &Type) -> bool {
    fn leaf(ty: &Type) -> bool {
        let Type::Path(p) = ty else { return false };
        let Some(last) = p.path.segments.last() else { return false };
        match last.ident.to_string().as_str() {
            "bool" | "i8" | "i16" | "i32" | "i64" | "f32" | "f64" | "String" => {
                last.arguments.is_none()
            }
            "Vec" => {
                matches!(generic_argument(&last.arguments), Some(Type::Path(p)) if p.path.is_ident("u8"))
            }
            _ => false,
        }
    }
    if let Type::Path(p) = ty
        && let Some(last) = p.path.segments.last()
        && last.ident == "Option"
    {
        return generic_argument(&last.arguments).is_some_and(leaf);
    }
    leaf(ty)
}

/// `RowType::encode_into` for a flat struct: size the row, zero it once, then write each slot
/// at a constant offset of the fixed part and each variable-length value after the previous.
fn flat_encode_into(named: &syn::FieldsNamed, krate: &TokenStream2) -> TokenStream2 {
    let n = named.named.len();
    let mut sizes = Vec::new();
    let mut writes = Vec::new();
    for (index, field) in named.named.iter().enumerate() {
        let ident = field.ident.as_ref().expect("named field");
        let ty = &field.ty;
        sizes.push(quote! { + <#ty as #krate::flat::FlatField>::flat_var_size(&self.#ident) });
        writes.push(quote! {
            <#ty as #krate::flat::FlatField>::write_flat(
                &self.#ident, fixed, vars, &mut cursor, #index, BITSET + #index * 8, floats,
            );
        });
    }
    quote! {
        #[inline]
        fn encode_into(&self, buf: &mut ::std::vec::Vec<u8>, floats: #krate::FloatMode) -> usize {
            const BITSET: usize = #krate::bitset_bytes(#n);
            const FIXED: usize = BITSET + #krate::SLOT_BYTES * #n;
            let len = FIXED #(#sizes)*;
            let row = #krate::flat::append_zeroed(buf, len);
            let (fixed, vars) = row.split_at_mut(FIXED);
            let fixed: &mut [u8; FIXED] = fixed.try_into().expect("the fixed part has FIXED bytes");
            let mut cursor = 0usize;
            #(#writes)*
            len
        }
    }
}

/// Rejects, with an error naming the field, the types that are certainly unsupported.
/// Other paths are taken as derived structs and checked by the `RowField` bound, whose
/// error points at the field's type.
fn check_type(ty: &Type, field: &str) -> syn::Result<()> {
    let unsupported = |why: &str| {
        let shown = quote!(#ty)
            .to_string()
            .replace(" < ", "<")
            .replace("< ", "<")
            .replace(" >", ">")
            .replace(" :: ", "::")
            .replace(" ,", ",")
            .replace("& ", "&");
        Err(syn::Error::new(
            ty.span(),
            format!(
                "field `{field}`: type `{shown}` is not supported by #[derive(Row)]{why}; \
                 supported: bool, i8, i16, i32, i64, f32, f64, String, Vec<u8>, Option<T>, \
                 Vec<T>, and structs that derive Row"
            ),
        ))
    };
    let path = match ty {
        Type::Path(p) if p.qself.is_none() => &p.path,
        Type::Group(g) => return check_type(&g.elem, field),
        Type::Paren(p) => return check_type(&p.elem, field),
        Type::Reference(_) => return unsupported(" (fields must own their data)"),
        _ => return unsupported(""),
    };
    let last = path.segments.last().expect("a path has a segment");
    let name = last.ident.to_string();
    let inner = generic_argument(&last.arguments);
    match name.as_str() {
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" | "i128" | "isize" => {
            unsupported(" (unsigned and 128-bit integers have no row type)")
        }
        "char" | "str" => unsupported(" (use String)"),
        "HashMap" | "BTreeMap" | "HashSet" | "BTreeSet" | "VecDeque" | "Box" | "Rc" | "Arc"
        | "Cell" | "RefCell" => unsupported(""),
        "Option" => match inner {
            Some(Type::Path(p)) if p.path.segments.last().is_some_and(|s| s.ident == "Option") => {
                unsupported(" (Option<Option<T>> cannot tell its two kinds of None apart)")
            }
            Some(inner) => check_type(inner, field),
            None => unsupported(""),
        },
        "Vec" => match inner {
            Some(Type::Path(p)) if p.path.is_ident("u8") => Ok(()),
            Some(inner) => check_type(inner, field),
            None => unsupported(""),
        },
        _ => Ok(()),
    }
}

fn generic_argument(arguments: &PathArguments) -> Option<&Type> {
    match arguments {
        PathArguments::AngleBracketed(args) if args.args.len() == 1 => match &args.args[0] {
            GenericArgument::Type(ty) => Some(ty),
            _ => None,
        },
        _ => None,
    }
}
