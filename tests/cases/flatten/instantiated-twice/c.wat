;; One module instantiated twice in one group: linking both copies into one
;; module would merge two instances' state, so flatten refuses.
(component
  (core module $lib (global (export "g") (mut i32) (i32.const 0)))
  (core module $app
    (import "a" "g" (global (mut i32)))
    (import "b" "g" (global (mut i32)))
    (func (export "f")))
  (core instance $a (instantiate $lib))
  (core instance $b (instantiate $lib))
  (core instance $app (instantiate $app (with "a" (instance $a)) (with "b" (instance $b))))
  (func (export "f") (canon lift (core func $app "f"))))
