"""Signed status webhooks through a transactional outbox."""
