(module (import "b" "t" (table 1 externref)))
