;; $OUT/out.wasm
(module
  (type (;0;) (func (param i32 i32) (result i32)))
  (type (;1;) (func (param i32 i32 i32 i32) (result i32)))
  (type (;2;) (func (param i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func (;0;) (type 1) (param i32 i32 i32 i32) (result i32)))
  (import "@js" "log" (func (;1;) (type 2) (param i32)))
  (export "add" (func 2))
  (func (;2;) (type 0) (param i32 i32) (result i32)
    local.get 0
    local.get 1
    i32.add
  )
)
