int dup_value(void) { return 1; }
int only_in_one(void) { return 11; }
