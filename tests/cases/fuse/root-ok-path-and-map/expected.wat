;; $OUT/out.wasm
(module
  (type (;0;) (func))
  (export "main" (func 2))
  (export "f" (func 0))
  (export "g" (func 1))
  (func (;0;) (type 0))
  (func (;1;) (type 0))
  (func (;2;) (type 0)
    call 0
    call 1
  )
)
