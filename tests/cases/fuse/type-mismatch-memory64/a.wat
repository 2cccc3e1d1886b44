(module (import "b" "m" (memory i64 1)))
