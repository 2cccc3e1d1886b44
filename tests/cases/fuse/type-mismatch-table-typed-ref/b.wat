(module (table (export "t") 1 funcref))
