/* mod_b: the leaf of the fuse-dwarf sets; it imports nothing.
 *
 * Exercises:
 *  - loops whose counters and sums live in wasm locals (DW_OP_WASM_location
 *    0x00 in location lists);
 *  - b_calls, a static global in mod_b's own memory, read and written
 *    (DW_OP_addr into mod_b's data segment);
 *  - b_window's local array, whose address escapes to b_fill: a real stack
 *    frame through mod_b's own __stack_pointer (global 0; mod_b comes first
 *    in instantiation order, so it stays 0 when fused, unlike mod_a's);
 *  - clamp_i32, byte-for-byte the same as mod_a's (identical-code folding);
 *  - b_unused, kept by wasm-ld (`used`) but neither exported nor called,
 *    so `weld fuse` removes it and must drop or tombstone its DWARF.
 * Exports b_poly and b_window (and its memory as mod_b_memory). */

static int b_calls = 3;

/* The same source as in mod_a.c; called, never exported. */
__attribute__((noinline)) int clamp_i32(int x, int lo, int hi) {
  if (x < lo)
    return lo;
  if (x > hi)
    return hi;
  return x;
}

/* Sum of squares below n plus a running product modulo 1000. */
int b_poly(int n) {
  int sum = 0;
  int prod = 1;
  for (int i = 0; i < n; i++) {
    sum += i * i;
    prod = (prod * (i + 2)) % 1000;
  }
  b_calls++;
  return clamp_i32(sum + prod, 0, 100000);
}

__attribute__((noinline)) void b_fill(int *buf, int n, int seed) {
  unsigned x = (unsigned)seed * 2654435761u + 1u;
  for (int i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    buf[i] = (int)(x % 997u);
  }
}

/* The largest of eight pseudo-random values, plus the call count. */
int b_window(int seed) {
  int buf[8];
  b_fill(buf, 8, seed);
  int best = buf[0];
  for (int i = 1; i < 8; i++)
    if (buf[i] > best)
      best = buf[i];
  return best + b_calls;
}

/* Not exported, not called: unreachable once linked. */
__attribute__((used)) int b_unused(int x) {
  int acc = 0;
  for (int i = 0; i < x; i++)
    acc ^= i * b_calls;
  b_calls = acc;
  return acc;
}
