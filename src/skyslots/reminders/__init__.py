"""Reminder mails before a booked slot starts (docs/jobs.md)."""
