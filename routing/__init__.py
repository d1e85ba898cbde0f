"""Pure decisions over values: what happens to a conversation when a message arrives."""
