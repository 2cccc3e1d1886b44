;; A member's module is imported by the component: its code is not here.
(component
  (import "lib" (core module $lib (export "two" (func (result i32)))))
  (core module $app
    (import "lib" "two" (func $two (result i32)))
    (func (export "four") (result i32) call $two call $two i32.add))
  (core instance $lib (instantiate $lib))
  (core instance $app (instantiate $app (with "lib" (instance $lib))))
  (func (export "four") (result u32) (canon lift (core func $app "four"))))
