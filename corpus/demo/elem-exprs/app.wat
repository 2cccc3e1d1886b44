;; Adds its own function to lib's table with an element expression, then
;; calls through every slot, the null one included (a trap).
(module
  (type $un (func (param i32) (result i32)))
  (import "lib" "table" (table 8 funcref))
  (import "lib" "apply" (func $apply (param i32 i32) (result i32)))
  (func $inc (type $un) local.get 0 i32.const 1 i32.add)
  (elem (table 0) (i32.const 2) funcref (ref.func $inc))
  (func (export "run") (param $x i32) (result i32)
    i32.const 0
    local.get $x
    call $apply
    i32.const 1
    local.get $x
    call $apply
    i32.add
    i32.const 2
    local.get $x
    call $apply
    i32.add
    i32.const 5
    local.get $x
    call $apply
    i32.add)
  (func (export "null_slot") (result i32)
    i32.const 4
    i32.const 1
    call $apply))
