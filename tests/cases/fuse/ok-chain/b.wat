;; The middle of the chain: b imports c.
(module
  (import "c" "base" (func $base (result i32)))
  (func (export "mid") (result i32)
    call $base
    i32.const 10
    i32.add))
