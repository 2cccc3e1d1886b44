(module
  (import "$math" "add" (func (param i32 i32) (result i32)))
  (import "@wasi/fs" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
  (import "@js" "log" (func (param i32))))
