;; The last section is a nested module; the file is cut inside it.
(component
  (core module $lib (func (export "two") (result i32) i32.const 2))
  (core module $app
    (import "lib" "two" (func $two (result i32)))
    (func (export "four") (result i32) call $two call $two i32.add))
  (core instance $lib (instantiate $lib))
  (core instance $app (instantiate $app (with "lib" (instance $lib))))
  (func (export "four") (result u32) (canon lift (core func $app "four")))
  (core module $unused (func (export "f") (result i32) i32.const 1) (func (export "g"))))
