(module
  (import "mid" "forwarded" (func $f (result i32)))
  (func (export "main") (result i32)
    call $f
    i32.const 1
    i32.add))
