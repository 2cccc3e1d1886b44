;; The top of the chain: a imports b (which imports c).
(module
  (import "b" "mid" (func $mid (result i32)))
  (func (export "top") (result i32)
    call $mid
    i32.const 100
    i32.add))
