(module (type $t (func)) (import "b" "f" (func (param (ref null $t)))))
