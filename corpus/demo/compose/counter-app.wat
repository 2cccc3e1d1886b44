;; Root of the resource demo: imports the host's counter resource
;; (demo:host/api@0.1.0: counter, make, read) and demo:use/bumper@1.0.0,
;; whose bump-twice takes a borrow of that same counter. run() makes a
;; counter, has the bumper bump it twice, twice, and returns its value (4).
(component
  (import "demo:host/api@0.1.0" (instance $api
    (export "counter" (type $c (sub resource)))
    (export "make" (func (result (own $c))))
    (export "read" (func (param "c" (borrow $c)) (result u32)))))
  (alias export $api "counter" (type $counter))
  (import "demo:use/bumper@1.0.0" (instance $b
    (alias outer 1 $counter (type $c))
    (export "counter" (type $c2 (eq $c)))
    (export "bump-twice" (func (param "c" (borrow $c2))))))
  (alias export $api "make" (func $make))
  (alias export $api "read" (func $read))
  (alias export $b "bump-twice" (func $bt))
  (core func $make_l (canon lower (func $make)))
  (core func $read_l (canon lower (func $read)))
  (core func $bt_l (canon lower (func $bt)))
  (core func $drop (canon resource.drop $counter))
  (core module $m
    (import "h" "make" (func $make (result i32)))
    (import "h" "read" (func $read (param i32) (result i32)))
    (import "h" "bt" (func $bt (param i32)))
    (import "h" "drop" (func $drop (param i32)))
    (func (export "run") (result i32) (local $c i32) (local $r i32)
      call $make local.set $c
      local.get $c call $bt
      local.get $c call $bt
      local.get $c call $read local.set $r
      local.get $c call $drop
      local.get $r))
  (core instance $h
    (export "make" (func $make_l)) (export "read" (func $read_l))
    (export "bt" (func $bt_l)) (export "drop" (func $drop)))
  (core instance $i (instantiate $m (with "h" (instance $h))))
  (func $run (result u32) (canon lift (core func $i "run")))
  (export "run" (func $run)))
