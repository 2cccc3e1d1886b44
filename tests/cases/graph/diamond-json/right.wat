(module
  (import "base" "get" (func $get (param i32) (result i32)))
  (func (export "right") (result i32)
    i32.const 0
    call $get))
