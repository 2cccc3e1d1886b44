(module (type $t (func)) (import "b" "t" (table 1 (ref null $t))))
