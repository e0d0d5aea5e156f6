"""Organizations, users and roles, API keys, datasets, quotas, usage, feedback and the audit
log (SQLModel). Database rows never leave this package: services return plain values."""
