/* Weak references that no library defines: their addresses are null. */
#include <stdio.h>
__attribute__((weak)) void maybe_hook(void);
__attribute__((weak)) extern int maybe_data;
void weak_report(void) {
  printf("hook %s, data %s\n", maybe_hook ? "present" : "absent", &maybe_data ? "present" : "absent");
}
