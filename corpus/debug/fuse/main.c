/* main: the root of the fuse-dwarf sets; imports from mod_a and mod_b.
 *
 * Exercises:
 *  - imports from two modules (mod_a's a_mix and a_stack, mod_b's
 *    b_window), so main's function indices shift by the others' when fused;
 *  - runs, a static global in main's own memory, read and written;
 *  - run's local array, whose address escapes to digest: a stack frame
 *    through main's own __stack_pointer (global 0 here, 2 once fused).
 * Exports run (an i32 computed from all three modules) and its memory. */

__attribute__((import_module("mod_a"), import_name("a_mix"))) int a_mix(int n);
__attribute__((import_module("mod_a"), import_name("a_stack"))) int a_stack(int base);
__attribute__((import_module("mod_b"), import_name("b_window"))) int b_window(int seed);

static int runs = 100;

/* A rolling checksum of n values. */
__attribute__((noinline)) int digest(const int *v, int n) {
  unsigned h = 2166136261u;
  for (int i = 0; i < n; i++) {
    h ^= (unsigned)v[i];
    h *= 16777619u;
  }
  return (int)(h & 0x7fffffff);
}

/* Calls every exported function of mod_a and mod_b and folds the results. */
int run(void) {
  int parts[4];
  runs++;
  parts[0] = a_mix(5);
  parts[1] = a_stack(3);
  parts[2] = b_window(42);
  parts[3] = runs;
  return digest(parts, 4) % 1000000;
}
