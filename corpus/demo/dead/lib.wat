;; Functions that nothing reaches after fusing, beside every way a function
;; stays reachable: an export, a call, a tail call, a table, a global's
;; `ref.func`, a `ref.func` in a reachable body, the start function.
(module
  (type $un (func (param i32) (result i32)))
  (table $private 3 funcref)
  (elem (table $private) (i32.const 0) func $in_table)
  ;; No indirect call has $wide's type: it keeps its slot, not its body.
  (elem (table $private) (i32.const 2) func $wide)
  (elem declare func $by_body)
  (global $fp funcref (ref.func $by_global))
  (global $started (mut i32) (i32.const 0))
  (func $helper (type $un) local.get 0 i32.const 10 i32.add)
  (func $tail (type $un) local.get 0 i32.const 100 i32.add)
  (func $in_table (type $un) local.get 0 i32.const 1000 i32.mul)
  (func $by_global (type $un) local.get 0 i32.const 3 i32.sub)
  (func $by_body (type $un) local.get 0 i32.const 7 i32.xor)
  (func $orphan (type $un) local.get 0 call $orphan_callee)
  (func $orphan_callee (type $un) local.get 0)
  (func $only_dead (type $un) local.get 0 i32.const 42 i32.add)
  (func $start_helper (result i32) i32.const 5)
  (func $start global.get $started call $start_helper i32.add global.set $started)
  (start $start)
  (func (export "used") (type $un)
    local.get 0
    call $helper
    return
    ;; dead: never runs, so $only_dead is not reached
    local.get 0
    call $only_dead)
  (func (export "tail") (type $un) local.get 0 return_call $tail)
  (func (export "slot") (type $un) local.get 0 i32.const 0 call_indirect $private (type $un))
  (func (export "via_global") (type $un)
    (table.set $private (i32.const 1) (global.get $fp))
    local.get 0 i32.const 1 call_indirect $private (type $un))
  (func (export "via_body") (type $un)
    (table.set $private (i32.const 1) (ref.func $by_body))
    local.get 0 i32.const 1 call_indirect $private (type $un))
  (func (export "started") (result i32) global.get $started)
  ;; Traps with a signature mismatch, with or without $wide's body.
  (func (export "slot_wide") (type $un) local.get 0 i32.const 2 call_indirect $private (type $un))
  (func $wide (param i64) (result i64) local.get 0 i64.const 1 i64.add))
