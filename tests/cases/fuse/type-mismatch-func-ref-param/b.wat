(module (type $t (func)) (func (export "f") (param (ref $t))))
