(module (import "env" "f" (func $f (result i32))) (func (export "run") (result i32) call $f))
