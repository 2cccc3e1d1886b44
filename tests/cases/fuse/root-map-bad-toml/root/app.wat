(module (import "util" "f" (func)))
