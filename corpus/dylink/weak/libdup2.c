int dup_value(void) { return 2; }
