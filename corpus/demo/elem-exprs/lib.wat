;; Fills its table with element expressions: `ref.func` items only (weld
;; writes those in the function-index form) and one with a `ref.null`.
(module
  (type $un (func (param i32) (result i32)))
  (table (export "table") 8 funcref)
  (func $double (type $un) local.get 0 i32.const 2 i32.mul)
  (func $square (type $un) local.get 0 local.get 0 i32.mul)
  (elem (table 0) (i32.const 0) funcref (ref.func $double) (ref.func $square))
  (elem (table 0) (i32.const 4) funcref (ref.null func) (ref.func $square))
  (func (export "apply") (param $f i32) (param $x i32) (result i32)
    local.get $x
    local.get $f
    call_indirect (type $un)))
