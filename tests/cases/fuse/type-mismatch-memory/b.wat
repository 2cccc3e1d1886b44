(module (memory (export "m") 1))
