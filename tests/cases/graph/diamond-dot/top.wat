;; Imports left and right, which both import base.
(module
  (import "left" "left" (func $left (param i32)))
  (import "right" "right" (func $right (result i32)))
  (func (export "roundtrip") (param i32) (result i32)
    local.get 0
    call $left
    call $right))
