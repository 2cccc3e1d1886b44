;; Another secondary module: even slots, one in the expression form.
(module
  (type $v (func (result i32)))
  (import "primary" "table" (table 8 funcref))
  (func $c (type $v) i32.const 5)
  (func $d (type $v) i32.const 20)
  (func $e (type $v) i32.const 40)
  (elem (table 0) (i32.const 0) func $c)
  (elem (table 0) (i32.const 2) funcref (ref.func $d))
  (elem (table 0) (i32.const 4) func $e))
