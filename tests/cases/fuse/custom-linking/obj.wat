(module (@custom "linking" "\02"))
