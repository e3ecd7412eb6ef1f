-- Billing and CDR search (issue 6).
--
-- Indexes so that one page of a tenant's CDRs, newest first, comes back in
-- milliseconds at 10 M rows whatever the filter: each filter column gets an
-- index that leads with the tenant and ends in start_at (and the rowid, which
-- is the CDR id), so the keyset walk (start_at, id) needs no sort.
CREATE INDEX cdrs_tenant_caller ON cdrs(tenant_id, caller, start_at);
CREATE INDEX cdrs_tenant_status ON cdrs(tenant_id, status, start_at);
CREATE INDEX cdrs_session ON cdrs(session_id);

-- Which column of the arrears table applies while the balance is negative:
-- 'subscription' when rent tipped it below zero, 'on_demand' for usage.
ALTER TABLE tenants ADD COLUMN arrears_column TEXT;

-- Statements sum the ledger by kind over a month.
CREATE INDEX ledger_tenant_kind ON ledger(tenant_id, kind, created_at);
