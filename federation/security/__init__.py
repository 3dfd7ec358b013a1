"""Security: mTLS certificates, the authorization policy, the tamper-evident audit log."""
