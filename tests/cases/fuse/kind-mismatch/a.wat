(module (import "b" "f" (func)))
