;; Adds its own functions to lib's table, then calls through it.
(module
  (type $un (func (param i32) (result i32)))
  (import "lib" "table" (table 8 funcref))
  (import "lib" "apply" (func $apply (param i32 i32) (result i32)))
  (table $own 2 funcref)
  (func $inc (type $un) local.get 0 i32.const 1 i32.add)
  (func $neg (type $un) i32.const 0 local.get 0 i32.sub)
  (elem (table 0) (i32.const 2) func $inc $neg)
  (elem (table $own) (i32.const 0) func $neg)
  (func (export "run") (param $x i32) (result i32)
    i32.const 2
    local.get $x
    call $apply
    i32.const 3
    local.get $x
    call $apply
    i32.add
    local.get $x
    i32.const 0
    call_indirect $own (type $un)
    i32.add)
  (func (export "trap_past_end") (result i32)
    i32.const 7
    i32.const 1
    call $apply))
