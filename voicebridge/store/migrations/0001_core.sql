-- voicebridge core schema. Times are ISO 8601 UTC text with milliseconds and
-- offset ("2026-11-26T06:03:36.123+00:00"), which sort as they read.
-- Money is INTEGER fen.

CREATE TABLE tenants (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    level           TEXT NOT NULL DEFAULT 'V1',
    timezone        TEXT NOT NULL DEFAULT 'Asia/Shanghai',
    region          TEXT NOT NULL DEFAULT 'CN',
    rate_fen_per_min     INTEGER NOT NULL DEFAULT 18,
    rent_fen_per_number  INTEGER NOT NULL DEFAULT 3000,
    included_minutes     INTEGER NOT NULL DEFAULT 0,
    sandbox         INTEGER NOT NULL DEFAULT 0,
    arrears_state   TEXT NOT NULL DEFAULT 'active',
    negative_since  TEXT,
    created_at      TEXT NOT NULL
);

CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT REFERENCES tenants(id),   -- NULL for an operator key
    prefix      TEXT NOT NULL,
    key_hash    TEXT NOT NULL UNIQUE,
    scopes      TEXT NOT NULL,                 -- space separated
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
);

CREATE TABLE onboarding_steps (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    step        TEXT NOT NULL,                 -- activation, filing, number_order
    state       TEXT NOT NULL,                 -- draft, submitted, approved, rejected
    data        TEXT NOT NULL DEFAULT '{}',
    reason      TEXT,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, step)
);

CREATE TABLE numbers (
    e164          TEXT PRIMARY KEY,
    city          TEXT NOT NULL DEFAULT '',
    number_type   TEXT NOT NULL DEFAULT 'fixed_line',
    tenant_id     TEXT REFERENCES tenants(id),
    app_name      TEXT,                        -- call_notify, welink
    service_type  TEXT,
    status        TEXT NOT NULL,               -- pool, in_use, paused, released
    ordered_at    TEXT,
    issued_at     TEXT,
    released_at   TEXT
);
CREATE INDEX numbers_tenant ON numbers(tenant_id, status);

CREATE TABLE reminders (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    group_id        TEXT NOT NULL,
    message_id      TEXT NOT NULL,
    sender_user_id  TEXT NOT NULL,
    sender_name     TEXT NOT NULL,
    text            TEXT NOT NULL,
    language        TEXT NOT NULL,
    callback_url    TEXT,
    caller          TEXT NOT NULL,
    prompt_text     TEXT NOT NULL,
    status          TEXT NOT NULL,             -- active, completed, cancelled
    created_at      TEXT NOT NULL,
    completed_at    TEXT
);
CREATE INDEX reminders_tenant ON reminders(tenant_id, created_at);

CREATE TABLE calls (
    id              TEXT PRIMARY KEY,
    reminder_id     TEXT NOT NULL REFERENCES reminders(id),
    tenant_id       TEXT NOT NULL,
    seq             INTEGER NOT NULL,
    user_id         TEXT NOT NULL,
    name            TEXT,
    phone           TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    cause           TEXT,
    sip_code        INTEGER,
    replays         INTEGER NOT NULL DEFAULT 0,
    digits          TEXT NOT NULL DEFAULT '',
    talk_ms         INTEGER NOT NULL DEFAULT 0,
    charge_fen      INTEGER NOT NULL DEFAULT 0,
    started_at      TEXT,
    alerting_at     TEXT,
    answered_at     TEXT,
    ended_at        TEXT,
    updated_at      TEXT NOT NULL
);
CREATE INDEX calls_reminder ON calls(reminder_id, seq);
CREATE INDEX calls_due ON calls(status, next_attempt_at);

CREATE TABLE cdrs (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    call_id         TEXT NOT NULL,
    attempt         INTEGER NOT NULL,
    tenant_id       TEXT NOT NULL,
    reminder_id     TEXT NOT NULL,
    recipient_user_id TEXT NOT NULL,
    app_name        TEXT NOT NULL DEFAULT 'call_notify',
    session_id      TEXT NOT NULL,
    caller          TEXT NOT NULL,
    callee          TEXT NOT NULL,
    start_at        TEXT NOT NULL,
    alerting_at     TEXT,
    answer_at       TEXT,
    end_at          TEXT NOT NULL,
    duration_ms     INTEGER NOT NULL,
    billable_ms     INTEGER NOT NULL,
    status          TEXT NOT NULL,
    cause           TEXT NOT NULL,
    sip_code        INTEGER,
    q850            INTEGER,
    hangup_by       TEXT NOT NULL,
    digits          TEXT NOT NULL DEFAULT '',
    replays         INTEGER NOT NULL DEFAULT 0,
    billable_minutes INTEGER NOT NULL DEFAULT 0,
    rate_fen_per_min INTEGER NOT NULL DEFAULT 0,
    charge_fen      INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL,
    UNIQUE (call_id, attempt)
);
CREATE INDEX cdrs_tenant_start ON cdrs(tenant_id, start_at, id);
CREATE INDEX cdrs_tenant_callee ON cdrs(tenant_id, callee, start_at);
CREATE INDEX cdrs_reminder ON cdrs(reminder_id);

-- The prepaid ledger: the balance is the sum of amount_fen; rows are never
-- updated. (kind, reference) is unique, so a CDR is charged at most once and a
-- rent period at most once.
CREATE TABLE ledger (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    kind        TEXT NOT NULL,                 -- topup, call_charge, rent, adjustment
    amount_fen  INTEGER NOT NULL,              -- credits positive, debits negative
    reference   TEXT NOT NULL,
    reason      TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    UNIQUE (kind, reference)
);
CREATE INDEX ledger_tenant ON ledger(tenant_id, created_at);

CREATE TABLE idempotency (
    tenant_id   TEXT NOT NULL,
    key         TEXT NOT NULL,
    body_hash   TEXT NOT NULL,
    status      INTEGER NOT NULL,
    response    TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, key)
);

CREATE TABLE audit (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    actor       TEXT NOT NULL,
    tenant_id   TEXT,
    action      TEXT NOT NULL,
    detail      TEXT NOT NULL DEFAULT '{}',
    created_at  TEXT NOT NULL
);
