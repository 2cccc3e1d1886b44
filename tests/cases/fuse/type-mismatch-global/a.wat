(module (import "b" "g" (global i64)))
