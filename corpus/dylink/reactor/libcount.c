#include <stdio.h>
static int counter = 100;
__attribute__((constructor)) static void count_init(void) { counter += 1; printf("libcount ctor\n"); fflush(stdout); }
int count_next(void) { return ++counter; }
