(module (@custom "dylink.0" (before first) "\01\04\00\00\00\00"))
