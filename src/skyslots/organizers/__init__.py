"""Co-organizers: accounts that manage an event besides its owner."""
