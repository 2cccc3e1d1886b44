(module (import "pinned" "f" (func)))
