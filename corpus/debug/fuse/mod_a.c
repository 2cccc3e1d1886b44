/* mod_a: the middle of the fuse-dwarf sets; imports b_poly from mod_b.
 *
 * Exercises:
 *  - an imported function (function indices shift when fused);
 *  - a_total, a static global in mod_a's own memory, read and written;
 *  - a_stack's local array of structs, whose address escapes to a_fill: a
 *    stack frame through mod_a's own __stack_pointer (global 0 here, global
 *    1 once fused after mod_b: frame bases `DW_OP_WASM_location 0x03 0`
 *    must be remapped);
 *  - clamp_i32, byte-for-byte the same as mod_b's (identical-code folding);
 *  - a_unused, kept by wasm-ld (`used`) but neither exported nor called.
 * Exports a_mix and a_stack (and its memory as mod_a_memory). */

__attribute__((import_module("mod_b"), import_name("b_poly"))) int b_poly(int n);

static int a_total = 7;

/* The same source as in mod_b.c; called, never exported. */
__attribute__((noinline)) int clamp_i32(int x, int lo, int hi) {
  if (x < lo)
    return lo;
  if (x > hi)
    return hi;
  return x;
}

/* Mixes b_poly over 0..n-1 into a_total. */
int a_mix(int n) {
  int acc = a_total;
  for (int i = 0; i < n; i++) {
    int p = b_poly(i);
    acc = (acc * 31 + p) % 65521;
  }
  a_total = clamp_i32(acc, 1, 60000);
  return a_total;
}

struct pair {
  int key;
  int weight;
};

__attribute__((noinline)) void a_fill(struct pair *v, int n, int base) {
  for (int i = 0; i < n; i++) {
    v[i].key = (base + i * 7) % 13;
    v[i].weight = i + 1;
  }
}

/* Weighted sum of keys of a local array of pairs. */
int a_stack(int base) {
  struct pair v[6];
  a_fill(v, 6, base);
  int total = 0;
  for (int i = 0; i < 6; i++)
    total += v[i].key * v[i].weight;
  return total + a_total % 10;
}

/* Not exported, not called: unreachable once linked. */
__attribute__((used)) int a_unused(int x) {
  int r = 1;
  while (x-- > 0)
    r = r * 3 % 101;
  a_total += r;
  return r;
}
