;; One core instance: nothing to link; the component is written unchanged.
(component
  (core module $m (func (export "two") (result i32) i32.const 2))
  (core instance $m (instantiate $m))
  (func (export "two") (result u32) (canon lift (core func $m "two"))))
