/* main.so of the link-dwarf5 set: a command (crt1-command.o's _start) built
 * as a shared library with -g, linked against libmid.so -> libbase.so ->
 * libc.so, like corpus/dylink/chain.
 *
 * Exercises: calls through two libraries, a static global written by a
 * constructor, a loop with locals, a local array passed to printf-using
 * code, and an exit code of 0. Prints, one per line:
 *   ctor base / main ctor saw 41 / stats 7 27 60 106 / count 8 */
#include <stdio.h>

extern int base_value;
int base_count(void);
int mid_stats(int n);

static int main_seen = 0;

__attribute__((constructor)) static void main_init(void) { main_seen = base_value; }

static void show(const char *what, const int *v, int n) {
  printf("%s", what);
  for (int i = 0; i < n; i++)
    printf(" %d", v[i]);
  printf("\n");
}

int main(void) {
  int stats[4];
  printf("main ctor saw %d\n", main_seen);
  for (int i = 0; i < 4; i++)
    stats[i] = mid_stats(i + 1);
  show("stats", stats, 4);
  printf("count %d\n", base_count());
  return 0;
}
