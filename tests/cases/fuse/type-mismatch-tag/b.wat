(module (tag (export "e") (param i32)))
