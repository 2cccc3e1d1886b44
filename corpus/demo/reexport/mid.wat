;; Re-exports lib's function under a new name without wrapping it.
(module
  (import "lib" "answer" (func $answer (result i32)))
  (export "forwarded" (func $answer)))
