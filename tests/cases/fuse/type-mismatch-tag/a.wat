(module (import "b" "e" (tag (param i64))))
