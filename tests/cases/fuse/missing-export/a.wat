(module (import "b" "nope" (func)))
