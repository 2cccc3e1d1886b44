;; $OUT/out.wasm
(component
  (core module $weld:flattened (;0;)
    (type (;0;) (func (param i32) (result i32)))
    (type (;1;) (func (result i32)))
    (export "run" (func 0))
    (elem (;0;) declare func 1)
    (func (;0;) (type 1) (result i32)
      i32.const 21
      call 1
    )
    (func (;1;) (type 0) (param i32) (result i32)
      local.get 0
      i32.const 2
      i32.mul
    )
  )
  (core instance $weld:flattened (;0;) (instantiate $weld:flattened))
  (type (;0;) (func (result u32)))
  (alias core export $weld:flattened "run" (core func (;0;)))
  (func (;0;) (type 0) (canon lift (core func 0)))
  (export (;1;) "run" (func 0))
)
