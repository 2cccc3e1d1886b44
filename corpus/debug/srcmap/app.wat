;; app: the root of the srcmap set; imports square and sum_to from `lib`
;; (the input named lib, i.e. lib.wasm). Built by corpus/build-debug with
;; Binaryen's wasm-opt into app.wasm plus app.wasm.map, whose `;;@
;; app.c:LINE:COL` locations come from the annotations below (app.c is
;; imaginary).
;;
;; Exercises: mappings in a module whose function indices shift when fused
;; (two imported functions before its own), and a second source file.
(module
  (import "lib" "square" (func $square (param i32) (result i32)))
  (import "lib" "sum_to" (func $sum_to (param i32) (result i32)))

  (func $twice (param $x i32) (result i32)
    ;;@ app.c:4:10
    (i32.shl (local.get $x) (i32.const 1)))

  ;; run() = twice(sum_to(5)) + square(7) = 2 * (0+1+4+9+16 + 5) + 49 = 119
  (func $run (export "run") (result i32)
    (local $s i32)
    ;;@ app.c:8:7
    (local.set $s (call $sum_to (i32.const 5)))
    ;;@ app.c:9:10
    (i32.add
      ;;@ app.c:9:10
      (call $twice (local.get $s))
      ;;@ app.c:9:21
      (call $square (i32.const 7)))))
