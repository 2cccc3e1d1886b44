/* A command linked against libmid.so -> libbase.so -> libc.so: data that
 * points into another library (mid_ptr), a function pointer taken in one
 * library and compared in another, constructors run dependencies first, a
 * thread-local counter, and an exit code. */
#include <stdio.h>
extern int *mid_ptr;
extern int (*mid_fn)(int, int);
extern int base_value;
int base_add(int, int);
int mid_call(int);
int base_tls_bump(void);
static int main_seen = 0;
__attribute__((constructor)) static void main_init(void) { main_seen = base_value; }
int main(void) {
  printf("main ctor saw %d\n", main_seen);
  printf("mid_call %d\n", mid_call(2));
  printf("same fn %d same ptr %d\n", mid_fn == base_add, mid_ptr == &base_value);
  printf("tls %d %d\n", base_tls_bump(), base_tls_bump());
  fprintf(stderr, "to stderr\n");
  return 3;
}
