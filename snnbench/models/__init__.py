"""Network models: the canonical LIF network that every method is scored as."""
