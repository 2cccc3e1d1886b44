(module (func) (@custom "reloc.CODE" "\03\00"))
