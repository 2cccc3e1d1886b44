;; The same helpers under other names, and one that differs.
(module
  (import "a" "a_scale" (func $a_scale (param i32) (result i32)))
  (func $times7 (param i32) (result i32) local.get 0 i32.const 7 i32.mul)
  (func $times8 (param i32) (result i32) local.get 0 i32.const 8 i32.mul)
  (func $is_even (param i32) (result i32)
    local.get 0 i32.eqz
    if (result i32) i32.const 1 else local.get 0 i32.const 1 i32.sub call $is_odd end)
  (func $is_odd (param i32) (result i32)
    local.get 0 i32.eqz
    if (result i32) i32.const 0 else local.get 0 i32.const 1 i32.sub call $is_even end)
  (func (export "b_mix") (param i32) (result i32)
    local.get 0 call $times7
    local.get 0 call $times8 i32.add
    local.get 0 call $is_even i32.add
    local.get 0 call $a_scale i32.add))
