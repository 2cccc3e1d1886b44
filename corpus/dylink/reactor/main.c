/* A reactor: no _start; the host calls _initialize, then exports. */
#include <stdio.h>
int count_next(void);
static int base = 0;
__attribute__((constructor)) static void reactor_init(void) { base = count_next(); printf("reactor ctor %d\n", base); fflush(stdout); }
int answer(void) { return base * 1000 + count_next(); }
