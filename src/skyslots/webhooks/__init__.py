"""Outbound webhooks (n8n and friends): signed POSTs of an event's changes, via the outbox."""
