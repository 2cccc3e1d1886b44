;; lib: the leaf of the srcmap set; imports nothing. Built by
;; corpus/build-debug with Binaryen's wasm-opt into lib.wasm plus
;; lib.wasm.map (a source map whose `;;@ lib.c:LINE:COL` locations come from
;; the annotations below; lib.c itself is imaginary).
;;
;; Exercises: source-map entries in several functions, a loop, a function
;; no export reaches (`$unused`, removed by `weld fuse`, so its mappings must
;; go), and a global of its own (indices shift when fused).
(module
  (global $calls (mut i32) (i32.const 0))

  (func $square (export "square") (param $x i32) (result i32)
    ;;@ lib.c:3:3
    (global.set $calls
      ;;@ lib.c:3:9
      (i32.add (global.get $calls) (i32.const 1)))
    ;;@ lib.c:4:10
    (i32.mul (local.get $x) (local.get $x)))

  (func $sum_to (export "sum_to") (param $n i32) (result i32)
    (local $i i32) (local $acc i32)
    ;;@ lib.c:8:3
    (block $done
      (loop $next
        ;;@ lib.c:9:9
        (br_if $done (i32.ge_s (local.get $i) (local.get $n)))
        ;;@ lib.c:10:9
        (local.set $acc (i32.add (local.get $acc) (call $square (local.get $i))))
        ;;@ lib.c:9:26
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    ;;@ lib.c:12:3
    (i32.add (local.get $acc) (global.get $calls)))

  (func $unused (param $x i32) (result i32)
    ;;@ lib.c:16:10
    (i32.sub (i32.const 0) (local.get $x))))
