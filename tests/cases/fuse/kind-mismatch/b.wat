(module (global (export "f") i32 (i32.const 0)))
