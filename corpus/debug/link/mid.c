/* libmid.so of the link-dwarf5 set (-fPIC -shared, with -g); needs libbase.so.
 *
 * Exercises: data pointing into another library (mid_ptr), a function
 * pointer to another library's function (mid_fn), a local array whose
 * address escapes (a stack frame through the imported __stack_pointer),
 * and a static variable local to a function. */
extern int base_value;
int base_add(int, int);
int base_sum(const int *, int);

int *mid_ptr = &base_value;
int (*mid_fn)(int, int) = base_add;

/* Sums the first n odd numbers scaled by *mid_ptr, through base_sum. */
int mid_stats(int n) {
  int odd[16];
  static int seen = 0;
  if (n > 16)
    n = 16;
  for (int i = 0; i < n; i++)
    odd[i] = (2 * i + 1) * (*mid_ptr % 7);
  seen += n;
  return mid_fn(base_sum(odd, n), seen);
}
