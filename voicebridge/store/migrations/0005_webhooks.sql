-- Status webhooks: what a tenant subscribed to, and an outbox of deliveries
-- written in the same transaction as the change they report.
ALTER TABLE tenants ADD COLUMN webhook_secret TEXT;

CREATE TABLE webhooks (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    url         TEXT NOT NULL,
    events      TEXT NOT NULL,                 -- space separated; '*' = all
    created_at  TEXT NOT NULL,
    disabled_at TEXT
);
CREATE INDEX webhooks_tenant ON webhooks(tenant_id);

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id        TEXT NOT NULL,             -- the same for every delivery of one event: receivers dedupe on it
    tenant_id       TEXT NOT NULL,
    webhook_id      TEXT,                      -- NULL: the reminder's callback_url
    url             TEXT NOT NULL,
    event           TEXT NOT NULL,
    payload         TEXT NOT NULL,
    state           TEXT NOT NULL DEFAULT 'pending',   -- pending, delivered, dead
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error      TEXT,
    created_at      TEXT NOT NULL,
    delivered_at    TEXT,
    expires_at      TEXT NOT NULL,             -- retried until then, then dead
    UNIQUE (event_id, url)
);
CREATE INDEX outbox_due ON outbox(state, next_attempt_at);
CREATE INDEX outbox_tenant ON outbox(tenant_id, state, id);
