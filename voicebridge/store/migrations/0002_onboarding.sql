-- Onboarding (issue 5): review stamps on the steps, uploaded documents,
-- per-tenant number rules. The audit table holds each step's history.

ALTER TABLE onboarding_steps ADD COLUMN submitted_at TEXT;
ALTER TABLE onboarding_steps ADD COLUMN reviewed_at TEXT;
ALTER TABLE onboarding_steps ADD COLUMN reviewed_by TEXT;
ALTER TABLE onboarding_steps ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
CREATE INDEX onboarding_queue ON onboarding_steps(state, submitted_at);

-- A reminder recipient may be a fixed line only where the operator allows it.
ALTER TABLE tenants ADD COLUMN allow_fixed_line INTEGER NOT NULL DEFAULT 0;

-- Files are stored once per content under <data_dir>/documents/<sha256>; a row
-- ties one upload to the tenant that made it.
CREATE TABLE documents (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    kind          TEXT NOT NULL DEFAULT 'other',   -- licence, commitment_letter, application_letter, id_image, other
    filename      TEXT NOT NULL DEFAULT '',
    content_type  TEXT NOT NULL,                   -- application/pdf, image/png, image/jpeg
    size          INTEGER NOT NULL,
    sha256        TEXT NOT NULL,
    uploaded_by   TEXT NOT NULL,
    created_at    TEXT NOT NULL
);
CREATE INDEX documents_tenant ON documents(tenant_id, created_at);

CREATE INDEX audit_tenant ON audit(tenant_id, id);
