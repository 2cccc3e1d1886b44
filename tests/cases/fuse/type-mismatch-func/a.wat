(module (import "b" "f" (func (param i64))))
