"""Discord: reminder summaries and freed-slot messages to an event's channel webhook."""
