(module (import "b" "m" (memory 2)))
