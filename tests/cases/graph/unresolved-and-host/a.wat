(module (import "env" "x" (func)) (import "myhost" "y" (func)) (import "b" "missing" (func)) (import "nobody" "y" (func)))
