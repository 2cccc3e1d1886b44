;; $OUT/out.wasm
(module
  (type (;0;) (func))
  (export "f" (func 0))
  (func (;0;) (type 0))
)
