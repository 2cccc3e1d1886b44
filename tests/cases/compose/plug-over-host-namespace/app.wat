;; Imports a wasi: interface, which a plug provides: the plug wins over the
;; host namespace, and the result imports nothing.
(component
  (import "wasi:cli/stub@0.2.0" (instance $s (export "f" (func (result u32)))))
  (alias export $s "f" (func $f))
  (export "run" (func $f)))
