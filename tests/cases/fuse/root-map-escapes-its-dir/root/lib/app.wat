(module (import "evil" "f" (func)))
