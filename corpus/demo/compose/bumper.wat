;; Plug of the resource demo: imports the host's counter at @0.1.2 (a
;; different view of the same interface: only `bump`), and exports
;; demo:use/bumper@1.0.0 whose bump-twice bumps a borrowed counter twice.
(component
  (import "demo:host/api@0.1.2" (instance $api
    (export "counter" (type $c (sub resource)))
    (export "bump" (func (param "c" (borrow $c))))))
  (alias export $api "counter" (type $counter))
  (alias export $api "bump" (func $bump))
  (core func $bump_l (canon lower (func $bump)))
  (core func $drop (canon resource.drop $counter))
  (core module $m
    (import "h" "bump" (func $bump (param i32)))
    (import "h" "drop" (func $drop (param i32)))
    ;; A lifted borrow must be dropped before returning.
    (func (export "bump-twice") (param i32)
      local.get 0 call $bump
      local.get 0 call $bump
      local.get 0 call $drop))
  (core instance $h (export "bump" (func $bump_l)) (export "drop" (func $drop)))
  (core instance $i (instantiate $m (with "h" (instance $h))))
  (type $bt (func (param "c" (borrow $counter))))
  (func $bump_twice (type $bt) (canon lift (core func $i "bump-twice")))
  (instance $out (export "counter" (type $counter)) (export "bump-twice" (func $bump_twice)))
  (export "demo:use/bumper@1.0.0" (instance $out)))
