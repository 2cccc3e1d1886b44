;; $OUT/out.wasm
(module
  (type (;0;) (func (result i32)))
  (export "run" (func 1))
  (export "f" (func 0))
  (func (;0;) (type 0) (result i32)
    i32.const 7
  )
  (func (;1;) (type 0) (result i32)
    call 0
  )
)
