(module
  (tag $oops (export "oops") (param i32))
  (func (export "fail") (param i32)
    local.get 0
    throw $oops))
