/* libbase.so of the link-dwarf5 set (-fPIC -shared, with -g).
 *
 * Exercises, in a position-independent library: an exported data symbol
 * (base_value, addressed through __memory_base), a static counter read and
 * written, a loop over a pointer argument, and a constructor. */
#include <stdio.h>

int base_value = 40;
static int base_calls = 0;

int base_add(int a, int b) {
  base_calls++;
  return a + b;
}

/* Sum of v[0..n), counting the call. */
int base_sum(const int *v, int n) {
  int s = 0;
  for (int i = 0; i < n; i++)
    s += v[i];
  base_calls++;
  return s;
}

int base_count(void) { return base_calls; }

__attribute__((constructor)) static void base_init(void) {
  printf("ctor base\n");
  base_value += 1;
}
