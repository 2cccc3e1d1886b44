#include <stdio.h>
extern int base_value;
int base_add(int, int);
int *mid_ptr = &base_value;
int (*mid_fn)(int, int) = base_add;
__attribute__((constructor)) static void mid_init(void) { printf("ctor mid sees %d\n", base_value); }
int mid_call(int x) { return mid_fn(x, *mid_ptr); }
