"""Live rosters: WebSocket fan-out through an in-process or Redis hub, and a polling fallback."""
