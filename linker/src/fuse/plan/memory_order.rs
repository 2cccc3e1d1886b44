//! Step of the plan, **busiest memory first**: the defined memories of the
//! fused module are ordered by how much code uses them, so that the memory
//! most accesses name is memory 0, the one engines make fastest (a
//! reserved register or a cached base) and the one an access names with no
//! memory index byte.
//!
//! A memory's weight is the code size of the inputs whose memory 0 it is
//! (an input's accesses name its memory 0 unless it uses multi-memory
//! itself); counting the accesses themselves would decode every body before
//! the rewrite does. Ties keep instantiation order, as does everything when
//! the order is already right. Imported memories stay first (the import
//! index space comes first). Memory indices are not observable from
//! outside a module (exports name memories by name), so only the indices
//! in code, segments and the name section change, through the maps.
//! Cost: O(inputs + memories).

use weld_format::{InputId, MemIdx};

use super::SpaceMaps;
use crate::fuse::context::FuseCx;

/// Reorders `memories` (defined memories, output order; the imported ones
/// number `imported`) busiest first, renumbering every map.
pub(crate) fn busiest_first(
    cx: &FuseCx<'_, '_>,
    imported: u32,
    memories: &mut Vec<(InputId, u32)>,
    maps: &mut [SpaceMaps],
) {
    if memories.len() < 2 {
        return;
    }
    let mut weight = vec![0u64; memories.len()];
    for (m, map) in cx.modules.iter().zip(maps.iter()) {
        let Some(first) = map.memories.first() else {
            continue;
        };
        if let Some(w) = first
            .0
            .checked_sub(imported)
            .and_then(|j| weight.get_mut(j as usize))
        {
            *w += m.bodies.iter().map(|b| b.as_bytes().len() as u64).sum::<u64>();
        }
    }
    let mut order: Vec<usize> = (0..memories.len()).collect();
    order.sort_by_key(|&j| std::cmp::Reverse(weight[j]));
    if order.iter().enumerate().all(|(i, &j)| i == j) {
        return;
    }
    let mut new_index = vec![0u32; memories.len()];
    for (i, &j) in order.iter().enumerate() {
        new_index[j] = imported + i as u32;
    }
    for map in maps.iter_mut() {
        for x in &mut map.memories {
            if let Some(j) = x.0.checked_sub(imported) {
                if let Some(&n) = new_index.get(j as usize) {
                    *x = MemIdx(n);
                }
            }
        }
    }
    *memories = order.iter().map(|&j| memories[j]).collect();
}

#[cfg(test)]
mod tests {
    use crate::fuse::plan::testing::fused_wat;

    fn memory_section(bytes: &[u8]) -> Vec<u64> {
        wasmparser::Parser::new(0)
            .parse_all(bytes)
            .filter_map(|p| match p.unwrap() {
                wasmparser::Payload::MemorySection(s) => {
                    Some(s.into_iter().map(|m| m.unwrap().initial).collect())
                }
                _ => None,
            })
            .next()
            .unwrap_or_default()
    }

    /// The input with the most code gets memory 0 and its accesses lose
    /// their memory index; the link map and the other input follow.
    #[test]
    fn the_memory_of_the_input_with_most_code_comes_first() {
        let small = r#"(module (memory 1) (func (export "s") (result i32) (i32.load (i32.const 0))))"#;
        let big = r#"(module (memory 2)
            (func (export "b") (result i32)
              (i32.add (i32.load (i32.const 0)) (i32.add (i32.load (i32.const 4)) (i32.load (i32.const 8))))))"#;
        let out = fused_wat(&[("small", small), ("big", big)]);
        // `big`'s memory (2 pages) is first.
        assert_eq!(memory_section(&out.bytes), vec![2, 1]);
        assert_eq!(out.map.inputs[0].memories, vec![1]);
        assert_eq!(out.map.inputs[1].memories, vec![0]);
        let text = wasmprinter::print_bytes(&out.bytes[..]).unwrap();
        assert!(text.contains("i32.load 1"), "{text}");
        assert_eq!(text.matches("i32.load 1").count(), 1, "{text}");
        // In order already: nothing moves.
        let out = fused_wat(&[("big", big), ("small", small)]);
        assert_eq!(memory_section(&out.bytes), vec![2, 1]);
        assert_eq!(out.map.inputs[0].memories, vec![0]);
    }
}
