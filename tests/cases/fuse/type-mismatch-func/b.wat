(module (func (export "f") (param i32)))
