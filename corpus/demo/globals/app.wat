;; Imported globals in constant expressions: a global's initialiser and a
;; data segment's offset.
(module
  (import "lib" "base" (global $base i32))
  (import "lib" "counter" (global $counter (mut i32)))
  (import "lib" "memory" (memory 1))
  (global $mine i32 (global.get $base))
  (data (global.get $base) "global-offset")
  (func (export "read") (result i32)
    global.get $mine
    global.get $counter
    i32.add
    global.get $base
    i32.load8_u
    i32.add))
