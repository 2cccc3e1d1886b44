;; Two groups: one links, the other instantiates a module twice. With
;; --partial the first is linked and the second left as it was, with a
;; warning naming it.
(component
  (core module $lib (func (export "two") (result i32) i32.const 2))
  (core module $app
    (import "lib" "two" (func $two (result i32)))
    (func (export "four") (result i32) call $two call $two i32.add))
  (core instance $lib (instantiate $lib))
  (core instance $app (instantiate $app (with "lib" (instance $lib))))
  (func (export "four") (result u32) (canon lift (core func $app "four")))
  (core module $counter (global (export "g") (mut i32) (i32.const 0)))
  (core module $user
    (import "a" "g" (global (mut i32)))
    (import "b" "g" (global (mut i32)))
    (func (export "f")))
  (core instance $a (instantiate $counter))
  (core instance $b (instantiate $counter))
  (core instance $user (instantiate $user (with "a" (instance $a)) (with "b" (instance $b))))
  (func (export "f") (canon lift (core func $user "f"))))
