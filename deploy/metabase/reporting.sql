-- Metabase profile: a read-only role that sees reporting views only, never the tables (no
-- emails, notes, names, tokens or hashes). Idempotent: the metabase-init one-shot runs it at
-- every start, after the migrations. Run with: psql -v reader_password=... -f reporting.sql
\set ON_ERROR_STOP on

DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'metabase_reader') THEN
    CREATE ROLE metabase_reader LOGIN;
  END IF;
END
$$;
ALTER ROLE metabase_reader WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE
  PASSWORD :'reader_password';
ALTER ROLE metabase_reader SET default_transaction_read_only = on;

CREATE SCHEMA IF NOT EXISTS reporting;
REVOKE ALL ON SCHEMA public FROM metabase_reader;
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM metabase_reader;

CREATE OR REPLACE VIEW reporting.events AS
  SELECT id, title, airport_icao, start_datetime, end_datetime, status,
         booking_opens_at, booking_closes_at, waitlist_mode, created_at
  FROM public.events;

CREATE OR REPLACE VIEW reporting.slots AS
  SELECT id, event_id, position_name, position_type, start_time, end_time, slot_time,
         origin_icao, destination_icao, aircraft_type, is_locked, min_rating
  FROM public.slots;

CREATE OR REPLACE VIEW reporting.bookings AS
  SELECT id, event_id, slot_id, status, pilot_callsign AS callsign, claimed_at, released_at,
         (user_id IS NOT NULL) AS signed_in
  FROM public.bookings;

CREATE OR REPLACE VIEW reporting.event_fill AS
  SELECT e.id AS event_id, e.title, e.start_datetime,
         count(s.id) AS slots,
         count(b.id) AS claimed,
         round(100.0 * count(b.id) / nullif(count(s.id), 0), 1) AS percent_claimed
  FROM public.events e
  LEFT JOIN public.slots s ON s.event_id = e.id
  LEFT JOIN public.bookings b ON b.slot_id = s.id AND b.status = 'claimed'
  GROUP BY e.id, e.title, e.start_datetime;

GRANT USAGE ON SCHEMA reporting TO metabase_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA reporting TO metabase_reader;
