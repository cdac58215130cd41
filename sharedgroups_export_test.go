package broker

// SharedOnlyPending is how many messages hold a Message.SharedGroups
// restriction not yet taken by routing (0 once every publish is done).
func SharedOnlyPending(b *Broker) int64 { return b.hooks.only.n.Load() }
