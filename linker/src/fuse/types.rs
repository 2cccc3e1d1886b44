//! The output type section: every input's types, identical ones written once.
//!
//! Types are deduplicated a recursion group at a time, so GC rec groups stay
//! whole. A group's key is its encoding with every reference to an earlier
//! type replaced by that type's *output* index and every reference inside the
//! group replaced by its position in the group (the two kinds are told apart
//! by the low bit), so two groups get the same key exactly when they define
//! the same types. Cost: one encoding and one hash lookup per group.

use std::collections::HashMap;

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
            }
            self.text
                .extend(group.iter().map(|st| st.composite_type.to_string()));
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
