;; A secondary module: its functions go to odd slots of primary's table,
;; one segment each.
(module
  (type $v (func (result i32)))
  (import "primary" "table" (table 8 funcref))
  (func $a (type $v) i32.const 10)
  (func $b (type $v) i32.const 30)
  (elem (table 0) (i32.const 1) func $a)
  (elem (table 0) (i32.const 3) func $b))
