;; $OUT/out.wasm
(component
  (core module $m (;0;)
    (type (;0;) (func (result i32)))
    (export "two" (func 0))
    (func (;0;) (type 0) (result i32)
      i32.const 2
    )
  )
  (core instance $m (;0;) (instantiate $m))
  (type (;0;) (func (result u32)))
  (alias core export $m "two" (core func (;0;)))
  (func (;0;) (type 0) (canon lift (core func 0)))
  (export (;1;) "two" (func 0))
)
