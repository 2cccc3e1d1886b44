;; a -> b -> c -> a: cannot be instantiated one by one.
(module
  (import "b" "f" (func $f (result i32)))
  (func (export "h") (result i32) call $f))
