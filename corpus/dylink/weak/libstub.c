/* A strong reference nothing defines, called only when asked: linked with
 * --stub-missing (weld) or --stub-missing-functions (wasm-tools). */
#include <stdio.h>
void never_defined(void);
int stub_report(int call_missing) {
  printf("calling the missing function: %s\n", call_missing ? "yes" : "no");
  fflush(stdout); /* a trap would lose what is buffered */
  if (call_missing) never_defined();
  return 0;
}
