(module (func (export "f")) (@custom ".debug_info" "\00") (@custom "my-notes" "x"))
