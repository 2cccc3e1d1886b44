#include <stdio.h>
int base_value = 40;
int base_add(int a, int b) { return a + b; }
__thread int tls_counter = 7;
int base_tls_bump(void) { return ++tls_counter; }
__attribute__((constructor)) static void base_init(void) { printf("ctor base\n"); base_value += 1; }
