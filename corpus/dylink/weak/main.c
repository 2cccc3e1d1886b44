/* Duplicate definitions (libdup1 and libdup2 both define dup_value; the
 * first in load order wins), and a stubbed missing function. */
#include <stdio.h>
int dup_value(void);
int only_in_one(void);
int stub_report(int);
int main(int argc, char **argv) {
  (void)argv;
  printf("dup %d one %d\n", dup_value(), only_in_one());
  stub_report(argc > 1);
  printf("done\n");
  return 0;
}
