-- The balance the dispatcher reads before every dial, kept beside the ledger so
-- authorising a call does not sum a tenant's whole history. Only
-- store/ledger.py writes it, in the same transaction as each entry;
-- `voicebridge reconcile` proves it equals the sum of the entries.
ALTER TABLE tenants ADD COLUMN balance_fen INTEGER NOT NULL DEFAULT 0;
UPDATE tenants SET balance_fen = (SELECT COALESCE(SUM(amount_fen), 0) FROM ledger WHERE ledger.tenant_id = tenants.id);
