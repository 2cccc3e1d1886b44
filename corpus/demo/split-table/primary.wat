;; Shaped like wasm-split's primary module: a table for the secondary
;; modules' functions, set to nulls by an active segment before they fill
;; it, and calls through every slot (the empty ones trap).
(module
  (type $v (func (result i32)))
  (table $own 2 funcref)
  (table $t (export "table") 8 funcref)
  (func $one (type $v) i32.const 1)
  (func $two (type $v) i32.const 2)
  (elem (table $own) (i32.const 0) func $one $two)
  (elem (table $t) (i32.const 0) funcref
    (ref.null func) (ref.null func) (ref.null func) (ref.null func)
    (ref.null func) (ref.null func) (ref.null func) (ref.null func))
  (func $slot (param i32) (result i32)
    local.get 0
    call_indirect $t (type $v))
  (func (export "s0") (result i32) i32.const 0 call $slot)
  (func (export "s1") (result i32) i32.const 1 call $slot)
  (func (export "s2") (result i32) i32.const 2 call $slot)
  (func (export "s3") (result i32) i32.const 3 call $slot)
  (func (export "s4") (result i32) i32.const 4 call $slot)
  (func (export "s5") (result i32) i32.const 5 call $slot)
  (func (export "own") (result i32) i32.const 1 call_indirect $own (type $v))
  ;; Bit k is set when slot k is null.
  (func (export "nulls") (result i32)
    (local $k i32) (local $bits i32)
    (loop $next
      (if (ref.is_null (table.get $t (local.get $k)))
        (then
          (local.set $bits
            (i32.or (local.get $bits) (i32.shl (i32.const 1) (local.get $k))))))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br_if $next (i32.lt_u (local.get $k) (i32.const 8))))
    local.get $bits))
