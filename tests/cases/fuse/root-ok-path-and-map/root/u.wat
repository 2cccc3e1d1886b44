(module (func (export "g")))
