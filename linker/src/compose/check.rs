//! Which import of a failed instantiation is the culprit, found by running
//! the validator's own instantiation check per import, in the child's import
//! order (the order the validator checks them in), over one probe of the
//! child and its providers. Used only after validation failed, so its cost
//! (one more probe of a few children) is paid only on the error path.
//!
//! The check mirrors `SubtypeCx::open_instance_type`: first the child's
//! imported resources are mapped to the resources the arguments supply, then
//! each argument is checked against the import's type with that
//! substitution. Only wired imports are checked: an import of the result has
//! the child's own type by construction. A provider's export is typed as the
//! provider's component declares it; a resource it re-exports from its own
//! imports is the provider's abstract one, not the one its provider supplies
//! in the composition, so such a wire may be blamed when the real culprit is
//! a later import of the same instantiation.

use wasmparser::component_types::{ComponentAnyTypeId, ComponentEntityType, Remap, Remapping, SubtypeCx};

use super::probe::probe;
use weld_format::InputId;

use super::wire::{Children, Source, Wiring};

/// The first wired import of child `c` whose argument does not fit, with the
/// validator's error; `None` when every wire checks.
pub fn culprit(
    c: InputId,
    children: &Children<'_>,
    contents: &[&[u8]],
    wiring: &Wiring,
) -> Option<(usize, wasmparser::BinaryReaderError)> {
    // The child first, then each distinct provider content.
    let mut involved = vec![children[c].content];
    for s in wiring.sources(c) {
        if let Source::Wire { provider, .. } = s {
            let k = children[*provider].content;
            if !involved.contains(&k) {
                involved.push(k);
            }
        }
    }
    let bytes: Vec<&[u8]> = involved.iter().map(|k| contents[k.as_usize()]).collect();
    let probed = probe(&bytes).ok()?;
    let types = probed.types.as_ref();
    let slot = |content| involved.iter().position(|&k| k == content);
    let child_ty = &types[probed.components[0]];

    // The argument of every wired import: the provider's export type.
    let mut args: indexmap::IndexMap<&str, ComponentEntityType> = indexmap::IndexMap::new();
    for (k, s) in wiring.sources(c).iter().enumerate() {
        if let Source::Wire { provider, export, .. } = s {
            let p = &types[probed.components[slot(children[*provider].content)?]];
            let name = child_ty.imports.get_index(k)?.0.as_str();
            args.insert(name, p.exports.get(export.as_str())?.ty);
        }
    }

    // The child's imported resources, mapped to what the arguments supply.
    let mut mapping = Remapping::default();
    'resources: for (resource, path) in &child_ty.imported_resources {
        let (name, item) = child_ty.imports.get_index(path[0])?;
        let mut ty = item.ty;
        let mut arg = args.get(name.as_str()).copied();
        for &i in &path[1..] {
            let ComponentEntityType::Instance(id) = ty else {
                continue 'resources;
            };
            let (export, next) = types[id].exports.get_index(i)?;
            ty = next.ty;
            arg = match arg {
                Some(ComponentEntityType::Instance(a)) => types[a].exports.get(export.as_str()).map(|t| t.ty),
                _ => continue 'resources,
            };
        }
        if let Some(ComponentEntityType::Type {
            created: ComponentAnyTypeId::Resource(r),
            ..
        }) = arg
        {
            mapping.add(*resource, r.resource());
        }
    }

    // Each wired import, in order, against its argument.
    let mut cx = SubtypeCx::new_with_refs(types, types);
    for (k, (name, item)) in child_ty.imports.iter().enumerate() {
        let Some(actual) = args.get(name.as_str()) else {
            continue;
        };
        let mut expected = item.ty;
        cx.b.remap_component_entity(&mut expected, &mut mapping);
        mapping.reset_type_cache();
        if let Err(e) = cx.component_entity_type(actual, &expected, 0) {
            return Some((k, e));
        }
    }
    None
}
