;; A component with two nested core modules and a nested component.
(component
  (core module $m1
    (memory (export "mem") 1)
    (data (i32.const 0) "the first nested module, with some data in it")
    (func (export "f") (result i32) i32.const 1))
  (core module $m2
    (func (export "g") (result i32) i32.const 2))
  (component $c
    (core module $n (func (export "h") (result i32) i32.const 3))
    (core instance $ni (instantiate $n))
    (func $h (result u32) (canon lift (core func $ni "h")))
    (export "h" (func $h)))
  (core instance $i1 (instantiate $m1))
  (core instance $i2 (instantiate $m2))
  (instance $ci (instantiate $c))
  (func $f (result u32) (canon lift (core func $i1 "f")))
  (export "f" (func $f))
  (export "h" (func $ci "h")))
