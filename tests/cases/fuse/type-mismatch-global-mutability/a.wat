(module (import "b" "g" (global (mut i32))))
