"""Feature flags: one definition list, SKYSLOTS_FEATURES, admins' toggles (docs/features.md)."""
