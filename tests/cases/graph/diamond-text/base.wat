;; Shared by left and right.
(module
  (memory (export "mem") 1)
  (func (export "get") (param i32) (result i32)
    local.get 0
    i32.load)
  (func (export "put") (param i32 i32)
    local.get 0
    local.get 1
    i32.store))
