"""Personal API tokens: `Authorization: Bearer sks_…` for organizers' scripts."""
