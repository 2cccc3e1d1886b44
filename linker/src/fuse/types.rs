//! The output type section: every input's types, identical ones written once.
//!
//! Types are deduplicated a recursion group at a time, so GC rec groups stay
//! whole. A group's key is its encoding with every reference to an earlier
//! type replaced by that type's *output* index and every reference inside the
//! group replaced by its position in the group (the two kinds are told apart
//! by the low bit), so two groups get the same key exactly when they define
//! the same types. Cost: one encoding and one hash lookup per group.

use rustc_hash::FxHashMap as HashMap;

use wasm_encoder::reencode::{Error as ReencodeError, Reencode};
use wasm_encoder::{Encode, TypeSection};
use weld_format::survey::ModuleSurvey;
use weld_format::TypeIdx;

/// A type index outside its module's type space or pointing forward.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadTypeRef {
    /// The index.
    pub index: u32,
}

/// Maps type indices through a closure; only types are touched.
struct TypeRemap<F: FnMut(u32) -> Option<u32>>(F);

impl<F: FnMut(u32) -> Option<u32>> Reencode for TypeRemap<F> {
    type Error = BadTypeRef;

    fn type_index(&mut self, ty: u32) -> Result<u32, ReencodeError<BadTypeRef>> {
        (self.0)(ty).ok_or(ReencodeError::UserError(BadTypeRef { index: ty }))
    }
}

/// The output type section under construction.
#[derive(Debug, Default)]
pub struct TypePlan {
    /// The encoded section.
    pub section: TypeSection,
    /// Number of types written.
    pub count: u32,
    /// For each output type, its declared supertype (GC), if any.
    pub supertypes: Vec<Option<u32>>,
    /// For each output type, a printable form (from the first input that had it).
    pub text: Vec<String>,
    /// For each output type, what it is (for subtyping against abstract
    /// heap types).
    pub kinds: Vec<(Composite, bool)>,
    seen: HashMap<Vec<u8>, u32>,
}

impl TypePlan {
    /// Adds one module's types; returns its old → new type map.
    pub fn add_module(&mut self, m: &ModuleSurvey<'_>) -> Result<Vec<TypeIdx>, BadTypeRef> {
        let mut map: Vec<TypeIdx> = Vec::with_capacity(m.types.len());
        for g in &m.rec_groups {
            let (start, len) = (g.start, g.len);
            let group = &m.types[start as usize..(start + len) as usize];
            // The key: outside references by output index, inside by position
            // (told apart by the low bit).
            let key_types = remap_group(
                group,
                |t| {
                    if t < start {
                        map.get(t as usize).map(|x| x.0 * 2)
                    } else {
                        Some((t - start) * 2 + 1)
                    }
                },
                start + len,
            )?;
            let mut key = vec![g.explicit as u8];
            let mut key_section = TypeSection::new();
            push_group(&mut key_section, g.explicit, key_types);
            key_section.encode(&mut key);
            if let Some(&out_start) = self.seen.get(&key) {
                map.extend((0..len).map(|i| TypeIdx(out_start + i)));
                continue;
            }
            // New group: place it at the end of the output.
            let out_start = self.count;
            let out_types = remap_group(
                group,
                |t| {
                    if t < start {
                        map.get(t as usize).map(|x| x.0)
                    } else {
                        Some(out_start + (t - start))
                    }
                },
                start + len,
            )?;
            for st in &out_types {
                self.supertypes.push(st.supertype_idxs.first().copied());
                self.kinds
                    .push((Composite::of(&st.composite_type.inner), st.composite_type.shared));
            }
            self.text.extend(
                out_types
                    .iter()
                    .map(|st| weld_format::wat::Wat(&st.composite_type).to_string()),
            );
            push_group(&mut self.section, g.explicit, out_types);
            self.count += len;
            self.seen.insert(key, out_start);
            map.extend((0..len).map(|i| TypeIdx(out_start + i)));
        }
        Ok(map)
    }

    /// The index of the function type `[] -> []`, adding it if needed.
    pub fn empty_func(&mut self) -> TypeIdx {
        let st = wasm_encoder::SubType {
            is_final: true,
            supertype_idxs: Vec::new(),
            composite_type: wasm_encoder::CompositeType {
                inner: wasm_encoder::CompositeInnerType::Func(wasm_encoder::FuncType::new([], [])),
                shared: false,
                descriptor: None,
                describes: None,
            },
        };
        let mut key_section = TypeSection::new();
        key_section.ty().subtype(&st);
        let mut key = vec![0];
        key_section.encode(&mut key);
        if let Some(&i) = self.seen.get(&key) {
            return TypeIdx(i);
        }
        let i = self.count;
        self.section.ty().subtype(&st);
        self.supertypes.push(None);
        self.kinds.push((Composite::Func, false));
        self.text.push("(func)".to_string());
        self.count += 1;
        self.seen.insert(key, i);
        TypeIdx(i)
    }

    /// Whether output type `sub` is `sup` or declares it as a (transitive)
    /// supertype. Linear in the depth of the chain.
    pub fn is_subtype(&self, sub: TypeIdx, sup: TypeIdx) -> bool {
        let mut cur = Some(sub.0);
        let mut steps = 0;
        while let Some(t) = cur {
            if t == sup.0 {
                return true;
            }
            steps += 1;
            if steps > self.supertypes.len() {
                return false;
            }
            cur = self.supertypes.get(t as usize).copied().flatten();
        }
        false
    }
}

/// The kind of a defined type, for subtyping against abstract heap types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Composite {
    /// A function type (below `func`).
    Func,
    /// A struct type (below `struct`, `eq`, `any`).
    Struct,
    /// An array type (below `array`, `eq`, `any`).
    Array,
    /// A continuation type (below `cont`).
    Cont,
}

impl Composite {
    fn of(t: &wasm_encoder::CompositeInnerType) -> Composite {
        use wasm_encoder::CompositeInnerType as C;
        match t {
            C::Func(_) => Composite::Func,
            C::Struct(_) => Composite::Struct,
            C::Array(_) => Composite::Array,
            C::Cont(_) => Composite::Cont,
        }
    }
}

impl TypePlan {
    /// Value-type subtyping (the Wasm GC rules) over output type indices:
    /// numeric and vector types only match themselves; a reference type
    /// matches when nullability allows it and its heap type is below.
    pub fn is_val_subtype(&self, a: wasm_encoder::ValType, b: wasm_encoder::ValType) -> bool {
        match (a, b) {
            (wasm_encoder::ValType::Ref(x), wasm_encoder::ValType::Ref(y)) => self.is_ref_subtype(x, y),
            (x, y) => x == y,
        }
    }

    /// Reference-type subtyping over output type indices.
    pub fn is_ref_subtype(&self, a: wasm_encoder::RefType, b: wasm_encoder::RefType) -> bool {
        (!a.nullable || b.nullable) && self.is_heap_subtype(a.heap_type, b.heap_type)
    }

    fn is_heap_subtype(&self, a: wasm_encoder::HeapType, b: wasm_encoder::HeapType) -> bool {
        use wasm_encoder::AbstractHeapType as A;
        use wasm_encoder::HeapType as H;
        let kind = |t: u32| self.kinds.get(t as usize).copied();
        // Whether the abstract type `top` is above defined types of `kind`.
        let above = |k: Composite, top: A| match k {
            Composite::Struct => matches!(top, A::Struct | A::Eq | A::Any),
            Composite::Array => matches!(top, A::Array | A::Eq | A::Any),
            Composite::Func => top == A::Func,
            Composite::Cont => top == A::Cont,
        };
        // Whether the abstract bottom `bottom` is below defined types of `kind`.
        let below = |k: Composite, bottom: A| match k {
            Composite::Struct | Composite::Array => bottom == A::None,
            Composite::Func => bottom == A::NoFunc,
            Composite::Cont => bottom == A::NoCont,
        };
        match (a, b) {
            (H::Concrete(x), H::Concrete(y)) | (H::Exact(x), H::Concrete(y)) => {
                self.is_subtype(TypeIdx(x), TypeIdx(y))
            }
            (H::Exact(x), H::Exact(y)) => x == y,
            (H::Concrete(_), H::Exact(_)) => false,
            (H::Concrete(x) | H::Exact(x), H::Abstract { shared, ty }) => {
                kind(x).is_some_and(|(k, s)| s == shared && above(k, ty))
            }
            (H::Abstract { shared, ty }, H::Concrete(y) | H::Exact(y)) => {
                kind(y).is_some_and(|(k, s)| s == shared && below(k, ty))
            }
            (H::Abstract { shared: s1, ty: x }, H::Abstract { shared: s2, ty: y }) => {
                s1 == s2 && abstract_subtype(x, y)
            }
        }
    }
}

impl TypePlan {
    /// `text` (a type in WAT syntax, with output type indices) followed by
    /// what each concrete index in it is: `(ref 1)` becomes
    /// `(ref 1) where 1 = (struct (field i32)) <: 0`.
    pub fn explain(&self, text: &str) -> String {
        let mut defs: Vec<u32> = Vec::new();
        for pat in ["(ref ", "(ref null ", "(exact "] {
            let mut rest = text;
            while let Some(at) = rest.find(pat) {
                rest = &rest[at + pat.len()..];
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                if let Ok(n) = digits.parse::<u32>() {
                    if !defs.contains(&n) {
                        defs.push(n);
                    }
                }
            }
        }
        if defs.is_empty() {
            return text.to_string();
        }
        let what: Vec<String> = defs
            .iter()
            .map(|&n| {
                let body = self.text.get(n as usize).map(String::as_str).unwrap_or("?");
                match self.supertypes.get(n as usize).copied().flatten() {
                    Some(sup) => format!("{n} = {body} <: {sup}"),
                    None => format!("{n} = {body}"),
                }
            })
            .collect();
        format!("{text} where {}", what.join(", "))
    }
}

/// Subtyping among abstract heap types: `none <: i31, struct, array <: eq
/// <: any`, and each other hierarchy's bottom below its top.
fn abstract_subtype(a: wasm_encoder::AbstractHeapType, b: wasm_encoder::AbstractHeapType) -> bool {
    use wasm_encoder::AbstractHeapType as A;
    a == b
        || matches!(
            (a, b),
            (A::None, A::I31 | A::Struct | A::Array | A::Eq | A::Any)
                | (A::I31 | A::Struct | A::Array | A::Eq, A::Any)
                | (A::I31 | A::Struct | A::Array, A::Eq)
                | (A::NoFunc, A::Func)
                | (A::NoExtern, A::Extern)
                | (A::NoExn, A::Exn)
                | (A::NoCont, A::Cont)
        )
}

/// A group's types with every type index mapped by `f`; indices at or past
/// `end` (forward references out of the group) are refused.
fn remap_group(
    group: &[wasmparser::SubType],
    f: impl Fn(u32) -> Option<u32>,
    end: u32,
) -> Result<Vec<wasm_encoder::SubType>, BadTypeRef> {
    let mut remap = TypeRemap(|t: u32| if t < end { f(t) } else { None });
    group
        .iter()
        .map(|st| remap.sub_type(st.clone()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(unwrap_bad)
}

/// Writes a recursion group: an explicit `rec`, or its types one by one.
fn push_group(section: &mut TypeSection, explicit: bool, types: Vec<wasm_encoder::SubType>) {
    if explicit {
        section.ty().rec(types);
    } else {
        for st in &types {
            section.ty().subtype(st);
        }
    }
}

fn unwrap_bad(e: ReencodeError<BadTypeRef>) -> BadTypeRef {
    match e {
        ReencodeError::UserError(b) => b,
        _ => BadTypeRef { index: u32::MAX },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn survey_types(wat: &str, plan: &mut TypePlan) -> Vec<u32> {
        let bytes = wat::parse_str(wat).unwrap();
        let s = weld_format::survey("t", &bytes).unwrap();
        plan.add_module(s.as_module().unwrap())
            .unwrap()
            .into_iter()
            .map(|t| t.0)
            .collect()
    }

    #[test]
    fn identical_types_are_written_once() {
        let mut plan = TypePlan::default();
        let a = survey_types("(module (type (func (param i32))) (type (func)))", &mut plan);
        let b = survey_types(
            "(module (type (func)) (type (func (param i32))) (type (func (result f64))))",
            &mut plan,
        );
        assert_eq!(a, [0, 1]);
        assert_eq!(b, [1, 0, 2]);
        assert_eq!(plan.count, 3);
        assert_eq!(plan.empty_func(), TypeIdx(1));
    }

    #[test]
    fn rec_groups_stay_whole_and_dedupe_as_a_unit() {
        let mut plan = TypePlan::default();
        let g = "(module (rec (type $a (struct (field (ref null $b)))) (type $b (struct (field (ref null $a))))))";
        let a = survey_types(g, &mut plan);
        let b = survey_types(g, &mut plan);
        assert_eq!(a, [0, 1]);
        assert_eq!(b, [0, 1]);
        // A lone struct equal to one member is a different type (not in a group).
        let c = survey_types("(module (type $x (struct (field (ref null $x)))))", &mut plan);
        assert_eq!(c, [2]);
    }

    #[test]
    fn subtype_chain() {
        let mut plan = TypePlan::default();
        let t = survey_types(
            "(module (type $a (sub (struct))) (type $b (sub $a (struct))) (type $c (func)))",
            &mut plan,
        );
        assert!(plan.is_subtype(TypeIdx(t[1]), TypeIdx(t[0])));
        assert!(!plan.is_subtype(TypeIdx(t[0]), TypeIdx(t[1])));
        assert!(!plan.is_subtype(TypeIdx(t[2]), TypeIdx(t[0])));
    }
}
