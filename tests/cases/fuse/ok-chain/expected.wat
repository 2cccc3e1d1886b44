;; $OUT/out.wasm
(module
  (type (;0;) (func (result i32)))
  (export "top" (func 2))
  (export "mid" (func 1))
  (export "base" (func 0))
  (func (;0;) (type 0) (result i32)
    i32.const 1
  )
  (func (;1;) (type 0) (result i32)
    call 0
    i32.const 10
    i32.add
  )
  (func (;2;) (type 0) (result i32)
    call 1
    i32.const 100
    i32.add
  )
)
