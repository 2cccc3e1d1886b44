;; Catches the tag lib throws: fused, both use one tag.
(module
  (import "lib" "oops" (tag $oops (param i32)))
  (import "lib" "fail" (func $fail (param i32)))
  (func (export "catch_it") (result i32)
    (block $h (result i32)
      (try_table (catch $oops $h)
        i32.const 41
        call $fail)
      i32.const 0)
    i32.const 1
    i32.add))
