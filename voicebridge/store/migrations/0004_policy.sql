-- Calling policy: urgent reminders skip quiet hours; a tenant may override the
-- policy settings (retries, retry_delays, quiet_start, quiet_end, max_calls_24h,
-- max_calls_30d) with a JSON object; NULL = the service's settings.
ALTER TABLE reminders ADD COLUMN urgent INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tenants ADD COLUMN policy TEXT;
CREATE INDEX calls_message ON calls(tenant_id, user_id);
