;; An instantiation argument lacks the export an import names (the component
;; is invalid; flatten says which import and which argument).
(component
  (core module $lib (func (export "two") (result i32) i32.const 2))
  (core module $app
    (import "lib" "three" (func $three (result i32)))
    (func (export "f") (result i32) call $three))
  (core instance $lib (instantiate $lib))
  (core instance $app (instantiate $app (with "lib" (instance $lib))))
  (func (export "f") (result u32) (canon lift (core func $app "f"))))
